"""Depth 4's steps: dithering in bands, the refined palette, the likeness that picks one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cloud.bitmap import few_colours, lab_palette, quantise, rgb565
from cloud.bitmap.likeness import Likeness
from testing import fidelity
from testing import sample_images as samples

PALETTE = [0, 0, 0, 255, 255, 255]


def test_each_band_keeps_its_error():
    # Mid grey between black and white: the dither mixes them in every band. Changing the
    # middle band's pixels changes nothing above or below it, which plain Floyd-Steinberg does.
    grey = Image.new("RGB", (40, 9), (128, 128, 128))
    changed = grey.copy()
    changed.paste((200, 200, 200), (0, 3, 40, 6))
    bands = [np.asarray(few_colours.dither_in_bands(image, PALETTE, 3))
             for image in (grey, changed)]
    assert 0 < bands[0].mean() < 1  # mixed, not the nearest colour throughout
    assert np.array_equal(bands[0][6:], bands[1][6:]) and np.array_equal(bands[0][:3],
                                                                         bands[1][:3])
    assert not np.array_equal(bands[0][3:6], bands[1][3:6])
    plain = [np.asarray(quantise.dither(image, PALETTE)) for image in (grey, changed)]
    assert not np.array_equal(plain[0][6:], plain[1][6:])


def test_refined_entries_are_the_means_of_their_pixels():
    pixels = [(40, 10, 0), (60, 30, 0), (200, 200, 150), (220, 220, 170), (9, 9, 9)]
    image = Image.new("RGB", (5, 1))
    image.putdata(pixels)
    dithered = Image.new("P", (5, 1))
    dithered.putpalette([90] * 12)  # the palette it was dithered onto: 4 entries
    dithered.putdata([0, 0, 2, 2, 3])  # entry 1 took no pixel, 3 is past the 3 chosen: dropped
    # the photo's darkest and lightest 0.5 % at L = 50, between the two entries: none moves
    middle = [0] * 128 + [1] + [0] * 127
    palette = lab_palette.refined(image, dithered, 3, middle)
    means = Image.frombytes("RGB", (2, 1), bytes([50, 20, 0, 210, 210, 160]))
    assert palette == list(rgb565.snap(means).tobytes())


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return samples.photo("astronaut").resize((160, 120))


def test_likeness_orders_pictures_as_the_perceived_ssim(astronaut):
    palette = lab_palette.palette_for(astronaut)
    holder = Image.new("P", (1, 1))
    holder.putpalette(palette)
    pictures = {
        "256 colours": quantise.dither(astronaut, quantise.palette_for(astronaut)),
        "16, dithered": few_colours.dither_in_bands(astronaut, palette),
        "16, nearest": astronaut.quantize(palette=holder, dither=Image.Dither.NONE),
        "8, nearest": astronaut.quantize(8, dither=Image.Dither.NONE),
    }
    ideal = np.asarray(astronaut)
    perceived = {name: fidelity.perceived_ssim(ideal, np.asarray(picture.convert("RGB")))
                 for name, picture in pictures.items()}
    likeness = Likeness(astronaut)
    judged = {name: likeness.of(picture) for name, picture in pictures.items()}
    assert sorted(judged, key=judged.__getitem__) == sorted(perceived, key=perceived.__getitem__)
    assert judged["256 colours"] > 0.99 and judged["8, nearest"] < 0.95, judged


@pytest.mark.parametrize(("name", "kept"), [("astronaut", "refined"), ("rocket", "first")])
def test_the_closer_palette_is_kept(name, kept):
    photo = samples.photo(name).resize((160, 120))
    lab = lab_palette.lab_bytes(photo)
    first = few_colours.dither_in_bands(photo, lab_palette.palette_for(photo, lab=lab))
    refined = few_colours.dither_in_bands(
        photo, lab_palette.refined(photo, first, 16, lab_palette.lightness(lab)))
    candidates = {"first": first, "refined": refined}
    likeness = Likeness(photo)
    assert max(candidates, key=lambda label: likeness.of(candidates[label])) == kept
    chosen = few_colours.dithered(photo, 16, [])
    assert chosen.tobytes() == candidates[kept].tobytes()
    assert chosen.getpalette() == candidates[kept].getpalette()
