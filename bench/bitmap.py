"""Benchmark of the device-bitmap pipeline. Prints one JSON object.

* ``photo_set``: the Mars photos measured (``testing/rover_scenes.py``: five greyscale Navcam
  and five colour Mastcam / Mastcam-Z frames, synthesised, served as JPEG q=90 like the feeds)
  and, for reference only, scikit-image's natural photographs (``other``);
* ``conversion_ms`` and ``conversion_cpu_ms``: median wall time and CPU time of ``convert`` per
  source, screen and depth, the depths interleaved in one loop so that they share the
  machine's load (on a busy machine the CPU time is what a quiet one would take): a 1650x1200
  colour Mastcam-Z frame and a 1650x1200 and a 5000x3800 JPEG upscaled from scikit-image
  photos;
* ``fidelity``: per screen (320x240, 480x320) and row (depth 4, 8, 16, the original sample's
  conversion, and the same with the aspect kept, which leaves its palette's share of the
  loss), the perceived SSIM (Gaussian blur of sigma 1 px on both, then SSIM, on
  what the RGB565 panel shows) and the raw SSIM against an aspect-correct Lanczos resize
  (``testing/fidelity.py``), mean and worst over the Mars set, per photo, and the bytes;
* ``other_photos``: the same means on the scikit-image photographs;
* ``ratios``: depth 4 against depth 8 and against the original sample, from this run;
* ``quantisers_d4``: the 16-colour quantisers measured to choose depth 4's (320x240): the
  palette (RGB or CIELAB, extremes kept or not, SciPy's k-means run to convergence, k-means
  weighted by saturation or local contrast, refined against its dither), the error diffusion
  (Pillow's; in Python with serpentine scanning, a reduced gain or a clamped error; in bands of
  rows) and the per-photo choice of two palettes (``cloud/bitmap/few_colours.py``); numpy,
  SciPy and Python loops only here, the Lambda has Pillow alone
  (``testing/quantiser_trials.py``). Perceived SSIM on the Mars set (mean, worst), on the
  other photos (mean) and on the worst frame rendered from five other source sizes (mean,
  worst), raw SSIM on the Mars set, and the CPU time of palette and dithering;
* ``targets``: the targets and whether they are met.

``run()`` returns the same dict, for ``bench.mars_api``. Run: ``.venv/bin/python -m bench.bitmap``.
"""

from __future__ import annotations

import io
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageOps
from scipy.cluster.vq import kmeans2
from skimage import color as skcolor

from cloud.bitmap import bmp, convert, few_colours, lab_palette, quantise, rgb565
from cloud.bitmap.likeness import Likeness
from cloud.bitmap.pipeline import frame
from testing import fidelity, quantiser_trials, rover_scenes
from testing.sample_images import NATURAL_PHOTOS, encode, photo

OTHER_PHOTOS = NATURAL_PHOTOS
SCREENS = ((320, 240), (480, 320))
DEPTHS = (4, 8, 16)
ORIGINAL = "original_sample"
ORIGINAL_PALETTE = "original_palette_aspect_kept"  # its web palette, without the distortion
ROWS = (*DEPTHS, ORIGINAL, ORIGINAL_PALETTE)
RUNS = 9
TARGETS = {  # (target, lower is better)
    "ms_1650x1200_to_320x240_d4": (60.0, True),
    "ms_1650x1200_to_320x240_d8": (60.0, True),
    "cpu_ms_1650x1200_to_320x240_d4": (60.0, True),
    "cpu_ms_1650x1200_to_320x240_d8": (60.0, True),
    "perceived_mean_d4_320x240": (0.985, False),
    "perceived_worst_d4_320x240": (0.975, False),
    "bytes_d4_320x240": (39_000, True),
    "perceived_mean_d8_320x240": (0.99, False),
    "raw_mean_d8_other": (0.93, False),
    "raw_mean_d16_other": (0.97, False),
}


def _sources() -> dict[str, bytes]:
    upscaled = {"coffee": (1650, 1200), "chelsea": (5000, 3800)}
    sources = {"1650x1200 mastcamz": rover_scenes.jpeg("mastcamz_caltarget", (1650, 1200))}
    for name, size in upscaled.items():
        big = photo(name).resize(size, Image.Resampling.LANCZOS)
        sources[f"{size[0]}x{size[1]} {name}"] = encode(big, "JPEG", quality=90)
    return sources


def conversion_ms() -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU milliseconds per ``source->screen/depth``."""
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for label, jpeg in _sources().items():
        for width, height in SCREENS:
            for run in range(RUNS + 1):  # the first round warms up: plugins, tables, caches
                for depth in DEPTHS:
                    started, started_cpu = time.perf_counter(), time.thread_time()
                    convert(jpeg, width, height, depth)
                    if run:
                        key = f"{label}->{width}x{height}/d{depth}"
                        wall.setdefault(key, []).append(time.perf_counter() - started)
                        cpu.setdefault(key, []).append(time.thread_time() - started_cpu)
    return _medians(wall), _medians(cpu)


def _medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {key: round(statistics.median(values) * 1000, 1) for key, values in times.items()}


def _row(photos: dict[str, tuple[Image.Image, bytes]], size, depth: int | str) -> dict:
    per_photo, sizes = {}, []
    for name, (original, data) in photos.items():
        if depth in (ORIGINAL, ORIGINAL_PALETTE):
            bitmap = fidelity.original_sample(original, size,
                                              keep_aspect=depth == ORIGINAL_PALETTE)
        else:
            bitmap = convert(data, *size, depth)
        perceived, raw = fidelity.scores(original, bitmap, size)
        per_photo[name] = {"perceived": round(perceived, 4), "raw": round(raw, 4)}
        sizes.append(len(bitmap))
    perceived = [p["perceived"] for p in per_photo.values()]
    raw = [p["raw"] for p in per_photo.values()]
    return {
        "perceived_mean": round(statistics.mean(perceived), 4),
        "perceived_worst": min(perceived),
        "raw_mean": round(statistics.mean(raw), 4),
        "raw_worst": min(raw),
        "bytes": max(sizes),
        "photos": per_photo,
    }


def _label(row: int | str) -> str:
    return f"d{row}" if isinstance(row, int) else row


def _mars_photos() -> dict[str, tuple[Image.Image, bytes]]:
    photos = {}
    for name in rover_scenes.SCENES:
        data = rover_scenes.jpeg(name)
        with Image.open(io.BytesIO(data)) as original:  # the original is the JPEG as served
            photos[name] = (original.convert("RGB"), data)
    return photos


def _other_photos() -> dict[str, tuple[Image.Image, bytes]]:
    return {name: (photo(name), encode(photo(name))) for name in OTHER_PHOTOS}


def fidelity_tables(mars: dict, other: dict) -> tuple[dict, dict]:
    tables: dict[str, dict] = {}
    others: dict[str, dict] = {}
    for size in SCREENS:
        screen = f"{size[0]}x{size[1]}"
        tables[screen] = {_label(row): _row(mars, size, row) for row in ROWS}
        others[screen] = {}
        for row in ROWS:
            others[screen][_label(row)] = _row(other, size, row)
            others[screen][_label(row)].pop("photos")
    return tables, others


# --- the depth-4 quantisers compared ------------------------------------------------------


def _rgb_palette(image: Image.Image, kmeans: bool, extremes: bool = False) -> list[int]:
    """Depth 8's method at 16 colours: median cut (+ k-means) in RGB on panel colours; with
    ``extremes``, the entries made exact means and the extremes kept as depth 4 does."""
    settled = max(1, round(image.width * image.height * quantise.KMEANS_SETTLED))
    chosen = rgb565.snap(image).quantize(16, Image.Quantize.MEDIANCUT, settled if kmeans else 0,
                                         dither=Image.Dither.NONE)
    if extremes:
        entries = lab_palette.centres(image, chosen, 16)
        lightness = lab_palette.lab_bytes(image).getchannel("R").histogram()
        lab_palette.stretch_extremes(entries, lightness)
        return list(rgb565.snap(lab_palette.row_image(entries)).tobytes())
    flat = (chosen.getpalette("RGB") or [0, 0, 0])[:48]
    return [rgb565.SNAP_LUT[256 * (i % 3) + value] for i, value in enumerate(flat)]


def _scipy_palette(image: Image.Image) -> list[int]:
    lab = skcolor.rgb2lab(np.asarray(image)).reshape(-1, 3)
    centres, _ = kmeans2(lab, 16, iter=50, minit="++", seed=1)
    rgb = np.clip(skcolor.lab2rgb(centres[None]) * 255 + 0.5, 0, 255).astype(np.uint8)
    return list(rgb565.snap(Image.fromarray(rgb)).tobytes())


def _dithered_in_lab(image: Image.Image) -> Image.Image:
    palette = lab_palette.palette_for(image)
    entries = Image.frombytes("RGB", (len(palette) // 3, 1), bytes(palette))
    indexed = quantise.dither(lab_palette.scaled_lab(image),
                            list(lab_palette.scaled_lab(entries).tobytes()))
    indexed.putpalette(palette)
    return indexed


def _refined(image: Image.Image, rounds: int) -> Image.Image:
    """Depth 4's palette refined ``rounds`` times against its plain Floyd-Steinberg dither."""
    lightness = lab_palette.lightness(lab_palette.lab_bytes(image))
    indexed = quantise.dither(image, lab_palette.palette_for(image))
    for _ in range(rounds):
        indexed = quantise.dither(image, lab_palette.refined(image, indexed, 16, lightness))
    return indexed


def _closer_of_two(image: Image.Image) -> Image.Image:
    """The palette or its refinement, plain Floyd-Steinberg, the closer by likeness."""
    first, second = _refined(image, 0), _refined(image, 1)
    likeness = Likeness(image)
    return second if likeness.of(second) > likeness.of(first) else first


def _bands_mirrored(image: Image.Image, rows: int = few_colours.BAND_ROWS) -> Image.Image:
    """Bands of ``rows`` rows, every other band scanned right to left (serpentine by band)."""
    palette = lab_palette.palette_for(image)
    indexed = few_colours.dither_in_bands(image, palette, rows)
    for top in range(rows, image.height, 2 * rows):
        box = (0, top, image.width, min(image.height, top + rows))
        band = quantise.dither(ImageOps.mirror(image.crop(box)), palette)
        indexed.paste(ImageOps.mirror(band), box[:2])
    return indexed


def _in_python(**variant) -> Callable[[Image.Image], Image.Image]:
    return lambda im: quantiser_trials.error_diffusion(im, lab_palette.palette_for(im), **variant)


def _in_bands(rows: int) -> Callable[[Image.Image], Image.Image]:
    return lambda im: few_colours.dither_in_bands(im, lab_palette.palette_for(im), rows)


CHOSEN = "bands of 3 rows, the closer of the palette and its refinement (chosen)"
QUANTISERS: dict[str, Callable[[Image.Image], Image.Image]] = {
    # the palette (plain Floyd-Steinberg, Pillow's)
    "rgb median cut": lambda im: quantise.dither(im, _rgb_palette(im, False)),
    "rgb median cut + k-means (depth 8's)":
        lambda im: quantise.dither(im, _rgb_palette(im, True)),
    "rgb median cut + k-means, extremes kept":
        lambda im: quantise.dither(im, _rgb_palette(im, True, True)),
    "cielab median cut + k-means":
        lambda im: quantise.dither(im, lab_palette.palette_for(im, keep_extremes=False)),
    "cielab median cut + k-means, extremes kept (the palette)": lambda im: _refined(im, 0),
    "the same, dithered in cielab": _dithered_in_lab,
    "scipy k-means in float cielab, converged": lambda im: quantise.dither(
        im, _scipy_palette(im)),
    "the palette's k-means weighted by saturation (numpy)": lambda im: quantise.dither(
        im, quantiser_trials.weighted_palette(im, "saturation")),
    "the palette's k-means weighted by local contrast (numpy)": lambda im: quantise.dither(
        im, quantiser_trials.weighted_palette(im, "contrast")),
    "the palette refined against its dither, 1 round": lambda im: _refined(im, 1),
    "the palette refined against its dither, 2 rounds": lambda im: _refined(im, 2),
    "the palette refined against its dither, 3 rounds": lambda im: _refined(im, 3),
    # the error diffusion (the palette above)
    "floyd-steinberg in python (the reference for the next three)": _in_python(),
    "the same, serpentine": _in_python(serpentine=True),
    "the same, error gain 0.9": _in_python(gain=0.9),
    "the same, error clamped to +-16": _in_python(clamp=16.0),
    "floyd-steinberg in bands of 2 rows": _in_bands(2),
    "floyd-steinberg in bands of 3 rows": _in_bands(3),
    "floyd-steinberg in bands of 4 rows": _in_bands(4),
    "floyd-steinberg in bands of 6 rows": _in_bands(6),
    "bands of 3 rows, every other band right to left": _bands_mirrored,
    # per photo, the closer of two by likeness
    "plain floyd-steinberg, the closer of the palette and its refinement": _closer_of_two,
    CHOSEN: lambda im: quantise.quantise(im, None, 16),
}
RENDERINGS = ((480, 360), (640, 480), (800, 600), (1024, 768), (1280, 960))
"""Other source sizes of the worst frame, ``mastcamz_caltarget``: the same scene through the
camera at another resolution, to tell a quantiser's gain from one rendering's luck."""


def _renderings() -> dict[str, tuple[Image.Image, bytes]]:
    photos = {}
    for size in RENDERINGS:
        data = rover_scenes.jpeg("mastcamz_caltarget", size)
        with Image.open(io.BytesIO(data)) as original:
            photos[f"{size[0]}x{size[1]}"] = (original.convert("RGB"), data)
    return photos


def quantisers(mars: dict, other: dict, size=(320, 240)) -> dict:
    """Each quantiser on the Mars set (mean, worst, CPU time), the other photos (mean) and the
    worst frame's other renderings (mean, worst)."""
    renderings = _renderings()
    photos = {**mars, **other, **{f"caltarget {name}": pair for name, pair in renderings.items()}}
    framed = {name: frame(data, size, "cover", 10**8)[0] for name, (_, data) in photos.items()}
    table = {}
    for label, quantiser in QUANTISERS.items():
        perceived, raw, cpu = {}, [], []
        for name, (original, _) in photos.items():
            started = time.thread_time()
            indexed = quantiser(framed[name])
            if name in mars:
                cpu.append((time.thread_time() - started) * 1000)
            perceived[name], raw_ssim = fidelity.scores(original, bmp.write_indexed4(indexed),
                                                        size)
            if name in mars:
                raw.append(raw_ssim)
        on_mars = [perceived[name] for name in mars]
        on_renderings = [perceived[f"caltarget {name}"] for name in renderings]
        table[label] = {"perceived_mean": round(statistics.mean(on_mars), 4),
                        "perceived_worst": round(min(on_mars), 4),
                        "raw_mean": round(statistics.mean(raw), 4),
                        "cpu_ms_median": round(statistics.median(cpu), 1),
                        "other_perceived_mean": round(
                            statistics.mean(perceived[name] for name in other), 4),
                        "caltarget_renderings_mean": round(statistics.mean(on_renderings), 4),
                        "caltarget_renderings_worst": round(min(on_renderings), 4)}
    return table


def _slowest(times: dict[str, float], depth: int) -> float:
    """The slowest 1650x1200 source to 320x240 at ``depth``."""
    return max(value for key, value in times.items()
               if key.startswith("1650x1200") and key.endswith(f"->320x240/d{depth}"))


def run() -> dict:
    times, cpu_times = conversion_ms()
    mars, other = _mars_photos(), _other_photos()
    tables, others = fidelity_tables(mars, other)
    small = tables["320x240"]
    ms = {depth: _slowest(times, depth) for depth in DEPTHS}
    cpu = {depth: _slowest(cpu_times, depth) for depth in DEPTHS}
    measured = {
        "ms_1650x1200_to_320x240_d4": ms[4],
        "ms_1650x1200_to_320x240_d8": ms[8],
        "cpu_ms_1650x1200_to_320x240_d4": cpu[4],
        "cpu_ms_1650x1200_to_320x240_d8": cpu[8],
        "perceived_mean_d4_320x240": small["d4"]["perceived_mean"],
        "perceived_worst_d4_320x240": small["d4"]["perceived_worst"],
        "bytes_d4_320x240": small["d4"]["bytes"],
        "perceived_mean_d8_320x240": small["d8"]["perceived_mean"],
        "raw_mean_d8_other": min(others[s]["d8"]["raw_mean"] for s in others),
        "raw_mean_d16_other": min(others[s]["d16"]["raw_mean"] for s in others),
    }
    targets = {
        key: {"target": target, "measured": measured[key],
              "met": measured[key] <= target if lower else measured[key] >= target}
        for key, (target, lower) in TARGETS.items()
    }
    ratios = {
        f"{screen}_{what}": round(table["d4"][key] / table[base][key], 3)
        for screen, table in tables.items()
        for what, key, base in (("bytes_d4_over_d8", "bytes", "d8"),
                                ("perceived_d4_over_d8", "perceived_mean", "d8"),
                                ("perceived_d4_over_original", "perceived_mean", ORIGINAL))
    }
    ratios["ms_d4_over_d8_1650x1200_to_320x240"] = round(ms[4] / ms[8], 2)
    ratios["cpu_ms_d4_over_d8_1650x1200_to_320x240"] = round(cpu[4] / cpu[8], 2)
    return {
        "benchmark": "bitmap",
        "photo_set": {"mars": list(rover_scenes.SCENES), "other": list(OTHER_PHOTOS)},
        "runs_per_timing": RUNS,
        "conversion_ms": times,
        "conversion_cpu_ms": cpu_times,
        "fidelity": tables,
        "other_photos": others,
        "ratios": ratios,
        "quantisers_d4": quantisers(mars, other),
        "targets": targets,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
