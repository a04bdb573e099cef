"""Choosing 16 colours for a photo in CIELAB (``depth=4``).

With 256 colours the way they are chosen barely shows; with 16 it decides the picture. The
choice below was measured on the Mars photo set of ``bench.bitmap`` (its ``quantisers_d4``
table, perceived SSIM at 320x240; the numbers are in ``cloud/mars/README.md``):

* **CIELAB, not RGB**: median cut, then k-means until fewer than ``KMEANS_SETTLED`` of the
  pixels change (Pillow's, in C), on the photo converted by littleCMS (Pillow's ``ImageCms``)
  and stored as bytes: L is 0..255 for 0..100, and a and b are scaled by the same 2.55 about
  128, so distances are CIELAB's (Delta E 1976) up to |a|, |b| of 50, beyond which rover
  photos hold few colours. k-means runs on values binned by ``BIN``, so that it sees a few
  thousand distinct colours, not tens of thousands (a third of its time). Each entry is then
  the exact mean of its pixels in RGB, so that a flat area keeps its colour.
* **The extremes kept**: k-means centres sit inside the photo's colours, and error diffusion
  can only mix what the palette spans, so the darkest and lightest entries are moved out to
  the 0.5th and 99.5th percentile of the photo's lightness (deep shadows, bright sky).

The entries are then snapped to panel colours and the photo is dithered in RGB
(:mod:`~cloud.bitmap.few_colours`): the panel then shows exactly the chosen colours, the
diffused error is the real one, and the local mean the eye blurs together is kept in the values
the panel shows (diffusing in CIELAB measured lower). :func:`refined` gives the second palette
``few_colours`` tries: each entry moved to the mean of the pixels dithered to it.
"""

from __future__ import annotations

from PIL import Image, ImageCms, ImageStat

from cloud.bitmap import rgb565
from cloud.lazy import Lazy

LAB_SCALE = 2.55  # L 0..100 -> 0..255; a and b scaled alike
KMEANS_SETTLED = 1 / 150  # as at depth 8
LIGHTNESS_EXTREMES = (0.005, 0.995)
BIN = 8
_NEUTRAL = 128  # a and b are stored offset by 128 (littleCMS TYPE_Lab_8)


def _build_transforms() -> tuple[ImageCms.ImageCmsTransform, ImageCms.ImageCmsTransform]:
    """sRGB -> CIELAB and back."""
    srgb, lab = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
    return (ImageCms.buildTransform(srgb, lab, "RGB", "LAB"),
            ImageCms.buildTransform(lab, srgb, "LAB", "RGB"))


_TRANSFORMS = Lazy(_build_transforms)  # built on first use: the handler imports this module


def _scaled(factor: float, step: int = 1, centre: int = _NEUTRAL) -> list[int]:
    """A lookup table that scales values about ``centre`` by ``factor`` and rounds them to a
    multiple of ``step`` from it (clipped to a byte): fewer distinct colours, a faster k-means."""
    return [min(255, max(0, centre + step * round(factor * (v - centre) / step)))
            for v in range(256)]


_SCALE = list(range(256)) + _scaled(LAB_SCALE) * 2  # per band, for Image.point on L, a, b
_BINS = _scaled(1, BIN, 0) + _scaled(1, BIN) * 2


def lab_bytes(image: Image.Image) -> Image.Image:
    """``image`` (RGB) in CIELAB as littleCMS stores it, in an ``RGB`` image's bytes."""
    return Image.merge("RGB", _TRANSFORMS.get()[0].apply(image).split())


def scaled_lab(image: Image.Image) -> Image.Image:
    """:func:`lab_bytes` with a and b scaled like L: distances are CIELAB's."""
    return lab_bytes(image).point(_SCALE)


def palette_for(image: Image.Image, colours: int = 16, *, keep_extremes: bool = True,
                lab: Image.Image | None = None) -> list[int]:
    """An adaptive palette of at most ``colours`` panel colours (flat ``[r, g, b, ...]``).

    :param keep_extremes: move the darkest and lightest entries out (see above); off only to
        measure what it gains.
    :param lab: ``lab_bytes(image)``, when the caller has it already.
    """
    if lab is None:
        lab = lab_bytes(image)
    chosen = lab.point(_SCALE).point(_BINS).quantize(
        colors=colours,
        method=Image.Quantize.MEDIANCUT,
        kmeans=max(1, round(image.width * image.height * KMEANS_SETTLED)),
        dither=Image.Dither.NONE,
    )
    entries = centres(image, chosen, colours)
    if keep_extremes:
        stretch_extremes(entries, lightness(lab))
    return list(rgb565.snap(row_image(entries)).tobytes())


def refined(image: Image.Image, dithered: Image.Image, colours: int,
            lightness_histogram: list[int]) -> list[int]:
    """A palette refined against its dither: each of the first ``colours`` entries of
    ``dithered`` (``image`` dithered) moved to the mean of the pixels dithered to it, the
    extremes stretched again; the entries no pixel took are dropped.

    Error diffusion mixes entries, so an entry also stands for the pixels it helps mix: taking
    their mean draws the entries towards the colours of large areas, whose mix is then made of
    closer colours (less dither noise). It also draws entries inwards, which dulls some photos:
    :mod:`~cloud.bitmap.few_colours` keeps it only where it looks closer.
    """
    entries = centres(image, dithered, colours)
    stretch_extremes(entries, lightness_histogram)
    return list(rgb565.snap(row_image(entries)).tobytes())


def lightness(lab: Image.Image) -> list[int]:
    """The histogram of L (0..255 for 0..100) of :func:`lab_bytes`' image."""
    return lab.getchannel("R").histogram()


def row_image(entries: list[list[int]]) -> Image.Image:
    """Palette entries (``[[r, g, b], ...]``) as a one-row RGB image."""
    return Image.frombytes("RGB", (len(entries), 1), bytes(v for entry in entries for v in entry))


def centres(image: Image.Image, chosen: Image.Image, colours: int) -> list[list[int]]:
    """The mean colour in ``image`` of the pixels of each entry of ``chosen``: exact (neither
    binned nor clipped nor taken through 8-bit CIELAB), so that a flat area keeps its colour."""
    count = len(chosen.getpalette("RGB") or [0, 0, 0]) // 3
    entries = []
    for index in range(min(count, colours)):
        mask = chosen.point([255 if value == index else 0 for value in range(256)], "L")
        stat = ImageStat.Stat(image, mask)
        if stat.count[0]:
            entries.append([round(mean) for mean in stat.mean])
    return entries


def stretch_extremes(entries: list[list[int]], histogram: list[int]) -> None:
    """Move the darkest entry's L down and the lightest's up to the photo's percentiles,
    keeping their a and b."""
    low, high = (_percentile(histogram, share) for share in LIGHTNESS_EXTREMES)
    flat = lab_bytes(row_image(entries)).tobytes()
    lab = [list(flat[i : i + 3]) for i in range(0, len(flat), 3)]
    darkest = min(range(len(lab)), key=lambda i: lab[i][0])
    lightest = max(range(len(lab)), key=lambda i: lab[i][0])
    for index, lightness in ((darkest, min(lab[darkest][0], low)),
                             (lightest, max(lab[lightest][0], high))):
        if lightness != lab[index][0]:
            moved = Image.frombytes("RGB", (1, 1), bytes([lightness, *lab[index][1:]]))
            rgb = _TRANSFORMS.get()[1].apply(Image.merge("LAB", moved.split()))
            entries[index] = list(rgb.tobytes())


def _percentile(histogram: list[int], share: float) -> int:
    """The level below which ``share`` of the counted pixels lie."""
    wanted, seen = share * sum(histogram), 0
    for level, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return level
    return len(histogram) - 1
