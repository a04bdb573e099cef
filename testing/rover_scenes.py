"""Rover photographs, synthesised: the Mars photo set of the bitmap benchmark and tests.

No rover photo ships with the repository and tests have no network, so the set is made here,
deterministically, with what a real frame holds: a ground plane in perspective whose texture is
fractal (1/f) relief lit by a low sun, with rocks that cast shadows, sand ripples, wheel tracks,
layered bedrock and light-toned veins; distant hills fading into haze; a sky brighter towards
the horizon; rover hardware (deck, cables, bolts, a wheel, the calibration target with its
colour chips, grey rings and shadow post); then the camera: slight optical blur, vignetting,
shot and read noise, and the JPEG compression of the raw-image feeds.

Two kinds, as the feeds serve them: ``navcam_*`` are greyscale Navcam frames (mode ``L``,
Perseverance 1280x960 and Curiosity 1024x1024), ``mastcam*`` colour Mastcam / Mastcam-Z frames
(mode ``RGB``, 1648x1200 and 1344x1200). :func:`scene` renders one at its native size or any
other; :func:`jpeg` gives the bytes a feed would serve.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

NAVCAM = ("navcam_horizon", "navcam_tracks", "navcam_deck", "navcam_outcrop", "navcam_dunes")
MASTCAM = ("mastcamz_outcrop", "mastcamz_caltarget", "mastcam_mountain", "mastcamz_sand",
           "mastcam_wheel")
SCENES = NAVCAM + MASTCAM
NATIVE = {"navcam_deck": (1024, 1024), "navcam_dunes": (1024, 1024),
          "mastcam_mountain": (1344, 1200), "mastcam_wheel": (1344, 1200)}
"""Frame sizes other than the 1280x960 Navcam and 1648x1200 Mastcam-Z defaults."""

# Colours under Mars daylight (linear 0..1 albedo x tint), for the colour cameras.
DUST = np.array([0.74, 0.52, 0.36])
SAND = np.array([0.40, 0.31, 0.25])
BEDROCK = np.array([0.62, 0.52, 0.44])
VEIN = np.array([0.92, 0.88, 0.80])
SKY_LOW, SKY_HIGH = np.array([0.86, 0.72, 0.56]), np.array([0.58, 0.44, 0.34])
HAZE = np.array([0.80, 0.64, 0.48])


def native_size(name: str) -> tuple[int, int]:
    if name not in SCENES:
        raise ValueError(f"no scene {name!r}; one of {', '.join(SCENES)}")
    return NATIVE.get(name, (1280, 960) if name.startswith("navcam") else (1648, 1200))


@functools.cache
def scene(name: str, size: tuple[int, int] | None = None) -> Image.Image:
    """Scene ``name`` at ``size`` (its native frame size by default), as the camera records it."""
    width, height = size or native_size(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    colour = not name.startswith("navcam")
    radiance = _BUILDERS[name.split("_", 1)[1]](rng, width, height, colour)
    return _camera(radiance, rng, colour, name.startswith("mastcamz"))


def jpeg(name: str, size: tuple[int, int] | None = None, quality: int = 90) -> bytes:
    """Scene ``name`` as the JPEG a raw-image feed serves."""
    buffer = io.BytesIO()
    scene(name, size).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


# --- fields --------------------------------------------------------------------------------


def _fractal(rng, shape, beta: float) -> np.ndarray:
    """Noise whose power falls as 1/f**beta (natural terrain: 2 to 2.6), zero mean, unit std."""
    rows, cols = shape
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.rfftfreq(cols)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    spectrum = rng.standard_normal((rows, cols // 2 + 1)) + 1j * rng.standard_normal(
        (rows, cols // 2 + 1))
    spectrum *= radius ** (-beta / 2)
    spectrum[0, 0] = 0
    field = np.fft.irfft2(spectrum, s=shape)
    return (field - field.mean()) / field.std()


def _relief(rng, shape, beta: float, slope: float) -> np.ndarray:
    """A fractal height field (in texels) whose mean gradient magnitude is ``slope``."""
    field = _fractal(rng, shape, beta)
    gy, gx = np.gradient(field)
    return field * (slope / np.hypot(gx, gy).mean())


def _rocks(rng, height, albedo, count: int, largest: float) -> None:
    """Add ``count`` irregular rocks (Pareto sizes) to ``height``, darker and greyer in albedo."""
    rows, cols = height.shape
    for _ in range(count):
        radius = min(largest, 1.5 + 4 * rng.pareto(1.6))
        cy, cx = rng.uniform(0, rows), rng.uniform(0, cols)
        top, left = int(max(0, cy - radius * 1.4)), int(max(0, cx - radius * 1.4))
        bottom, right = int(min(rows, cy + radius * 1.4)), int(min(cols, cx + radius * 1.4))
        if bottom <= top or right <= left:
            continue
        yy, xx = np.mgrid[top:bottom, left:right]
        angle = np.arctan2(yy - cy, xx - cx)
        wobble = 1 + sum(rng.uniform(0, 0.2 / k) * np.cos(k * angle + rng.uniform(0, 6.3))
                         for k in (2, 3, 4, 6))
        r = np.hypot(yy - cy, (xx - cx) * rng.uniform(0.7, 1.3)) / (radius * wobble)
        dome = radius * rng.uniform(0.5, 0.9) * np.sqrt(np.clip(1 - r**2, 0, None)) ** 0.7
        inside = dome > 0
        height[top:bottom, left:right] += dome  # resting on the ground
        tone = rng.uniform(0.45, 1.05)
        grain = 1 + 0.08 * rng.standard_normal(inside.sum())[:, None]
        albedo[top:bottom, left:right][inside] = (tone * BEDROCK + rng.normal(0, 0.015, 3)) * grain


def _shade(height, albedo, sun_elevation: float, ambient: float) -> np.ndarray:
    """Lambert shading with cast shadows for a sun in the -x direction; RGB radiance."""
    slope = math.tan(math.radians(sun_elevation))
    gy, gx = np.gradient(height)
    light = np.array([math.cos(math.radians(sun_elevation)), 0.0,
                      math.sin(math.radians(sun_elevation))])
    lambert = np.clip((gx * light[0] + light[2]) / np.sqrt(gx**2 + gy**2 + 1), 0, None)
    sweep = height + np.arange(height.shape[1]) * slope
    lit = sweep >= np.maximum.accumulate(sweep, axis=1) - 0.5
    direct = np.minimum(lambert * lit / light[2], 1.8)
    return albedo * (ambient + (1 - ambient) * 0.8 * direct)[..., None]


def _ground(rng, size, kind: str) -> np.ndarray:
    """A top-down ground patch (RGB radiance) of ``size`` texels: ``plain``, ``tracks``,
    ``outcrop``, ``ripples`` or ``dunes``."""
    rows, cols = size
    height = _relief(rng, size, 3.2, 0.15) + _relief(rng, size, 2.0, 0.3)
    sandy = 1 / (1 + np.exp(-3 * _fractal(rng, size, 3.0)))  # dust drifts between darker sand
    albedo = DUST * (1 - sandy[..., None]) + (SAND * 1.3) * sandy[..., None]
    albedo *= (1 + 0.06 * _fractal(rng, size, 1.2))[..., None]  # grain
    if kind in ("ripples", "dunes"):
        y, x = np.mgrid[:rows, :cols]
        wave = 26 if kind == "ripples" else 60
        phase = 2 * np.pi * (0.3 * y + 0.8 * x) / wave + 2.5 * _fractal(rng, size, 3.0)
        height = height * 0.5 + (wave / 8) * np.sin(phase)
        albedo = 1.3 * SAND * (1 + 0.08 * _fractal(rng, size, 1.4) + 0.1 * np.sin(phase))[
            ..., None]
        if kind == "dunes":
            height += _relief(rng, size, 3.4, 0.3)
    if kind == "outcrop":
        tilt = np.mgrid[:rows, :cols][1] * 0.9 + 30 * _fractal(rng, size, 3.6)
        layer = 34  # beds whose edges step up towards the sun, each a ledge
        height = (6 * np.floor(tilt / layer) - 3 * (tilt % layer / layer) ** 2
                  + _relief(rng, size, 2.2, 0.2))
        albedo = BEDROCK * (1 + 0.18 * np.sin(tilt / layer * 2 * np.pi)[..., None]
                            + 0.08 * _fractal(rng, size, 1.8)[..., None])
        veins = np.abs(_fractal(rng, size, 2.4)) < 0.03
        albedo[veins] = VEIN
    area = rows * cols / 2.5e6
    _rocks(rng, height, albedo, int(area * {"plain": 900, "tracks": 300, "outcrop": 60}.get(
        kind, 40)), 60 if kind == "plain" else 20)
    if kind == "tracks":
        x = np.arange(cols)
        for centre in (0.38 * cols, 0.62 * cols):
            inside = np.abs(x - centre) < 0.07 * cols
            grousers = 2.0 * (np.sin(np.arange(rows) * 2 * np.pi / 24)[:, None] > 0.6)
            height[:, inside] = height[:, inside] * 0.3 - 6 - grousers
            albedo[:, inside] *= 0.85
            berm = (np.abs(np.abs(x - centre) - 0.075 * cols) < 0.012 * cols)
            height[:, berm] += 3
    return _shade(height, albedo, sun_elevation=24, ambient=0.35)


def _perspective(ground, width, height, horizon, scale) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``ground`` (depth along its rows, far rows on top) for image rows below
    ``horizon``, from a mipmap so that far rows do not alias; returns the radiance and each
    pixel's distance (in ground texels)."""
    below = np.clip(np.arange(height, dtype=float) - horizon, 1.0, None)
    focal = width * 0.9
    lift = focal * 150 * scale  # the mast: 150 texel-scales above the ground
    depth = lift / below
    rows = (ground.shape[0] - 1 - (depth - depth[-1]) / scale)[:, None].repeat(width, 1)
    cols = ground.shape[1] / 2 + (np.arange(width) - width / 2)[None, :] * depth[:, None] / (
        focal * scale)
    texels_per_pixel = np.maximum(depth**2 / lift, depth / focal) / scale
    level = np.clip(np.log2(np.maximum(texels_per_pixel, 1)), 0, 6).astype(int)
    out = np.empty((height, width, 3))
    layer = ground
    for index in range(7):
        mask = (level == index)[:, None].repeat(width, 1)
        if mask.any():
            coords = [rows[mask] / 2**index, cols[mask] / 2**index]
            for channel in range(3):
                out[..., channel][mask] = ndimage.map_coordinates(
                    layer[..., channel], coords, order=1, mode="mirror")
        rows_even, cols_even = layer.shape[0] // 2 * 2, layer.shape[1] // 2 * 2
        layer = layer[:rows_even, :cols_even].reshape(
            rows_even // 2, 2, cols_even // 2, 2, 3).mean(axis=(1, 3))
    return out, np.broadcast_to(depth[:, None], (height, width))


def _sky_and_hills(rng, width, height, horizon, radiance, distance, colour, hills: float):
    """Haze with distance, a ridge of distant hills, and the sky above them."""
    haze_tint = HAZE if colour else np.full(3, 0.80)
    fog = 1 - np.exp(-distance / (distance[-1, 0] * 60))
    radiance[:] = radiance * (1 - fog[..., None]) + haze_tint * fog[..., None]
    ridge = horizon - hills * height * (0.5 + 0.5 * np.clip(
        _fractal(rng, (1, width * 2), 2.6)[0, ::2] * 0.45 + 0.3, 0, 1.4))
    y = np.arange(height)[:, None]
    hill_texture = _fractal(rng, (height, width), 2.4)
    shade = 0.82 + 0.06 * hill_texture + 0.12 * np.tanh(np.gradient(hill_texture, axis=1) * 8)
    hill = (y >= ridge[None, :]) & (y < horizon + 0.02 * height)
    base = (BEDROCK if colour else np.full(3, 0.58)) * 0.75 + 0.25 * haze_tint
    radiance[hill] = (base * shade[..., None])[hill]
    up = np.clip(1 - y / max(horizon, 1), 0, 1)
    low, high = (SKY_LOW, SKY_HIGH) if colour else (np.full(3, 0.88), np.full(3, 0.66))
    sun_side = 1 + 0.06 * (1 - np.arange(width) / width)[None, :]
    sky = (low * (1 - up[..., None] ** 0.6) + high * up[..., None] ** 0.6) * sun_side[..., None]
    radiance[y[:, 0] < ridge.max()] = np.where(
        (y < ridge[None, :])[..., None], sky, radiance)[y[:, 0] < ridge.max()]


def _landscape(rng, width, height, colour, kind: str, horizon: float, hills: float):
    scale = max(width, height) / 1648
    ground = _ground(rng, (int(1400 * scale) + 200, int(1800 * scale) + 200), kind)
    radiance, distance = _perspective(ground, width, height, horizon * height, scale)
    _sky_and_hills(rng, width, height, horizon * height, radiance, distance, colour, hills)
    return radiance


def _nadir(rng, width, height, kind: str) -> np.ndarray:
    """Looking straight down: the ground patch itself, no sky."""
    return _ground(rng, (height, width), kind)


# --- rover hardware ------------------------------------------------------------------------


def _paint(radiance, draw_shapes) -> None:
    """Composite shapes drawn with ``ImageDraw`` (values 0..255 as radiance) over ``radiance``."""
    height, width = radiance.shape[:2]
    layer = Image.new("RGB", (width, height))
    mask = Image.new("L", (width, height))
    draw_shapes(ImageDraw.Draw(layer), ImageDraw.Draw(mask), width, height)
    alpha = np.asarray(mask, float)[..., None] / 255
    radiance[:] = radiance * (1 - alpha) + np.asarray(layer, float) / 255 * alpha


def _deck(draw, mask, width, height) -> None:
    """The rover deck across the bottom: plates, a box, cables and bolts."""
    top = int(height * 0.72)
    plate = [(0, top + height * 0.05), (width * 0.55, top), (width, top + height * 0.08),
             (width, height), (0, height)]
    for target, fill in ((draw, (150, 146, 140)), (mask, 255)):
        target.polygon(plate, fill=fill)
        target.rectangle((width * 0.12, top - height * 0.06, width * 0.34, top + height * 0.1),
                         fill=fill if target is mask else (205, 200, 190))
    draw.rectangle((width * 0.12, top + height * 0.07, width * 0.34, top + height * 0.1),
                   fill=(70, 68, 66))  # the box's shadowed side
    draw.line((width * 0.12, top - height * 0.06, width * 0.34, top - height * 0.06),
              fill=(250, 248, 240), width=max(1, width // 300))  # specular edge
    for offset in range(3):
        points = [(width * (0.4 + 0.05 * offset), height), (width * (0.5 + 0.04 * offset),
                  top + height * 0.1), (width * (0.9 - 0.02 * offset), top + height * 0.12)]
        for target, fill, thick in ((draw, (30, 30, 32), 10), (mask, 255, 10),
                                    (draw, (120, 118, 115), 2)):
            target.line(points, fill=fill, width=max(1, width * thick // 1648), joint="curve")
    for i in range(9):
        x, y = width * (0.05 + 0.1 * i), top + height * (0.12 + 0.015 * (i % 3))
        r = width / 260
        for target, fill in ((draw, (220, 218, 212)), (mask, 255)):
            target.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        draw.ellipse((x - r / 2, y - r / 2, x + r / 2, y + r / 2), fill=(60, 60, 60))


def _caltarget(draw, mask, width, height) -> None:
    """Mastcam-Z's calibration target seen obliquely: colour chips, grey rings, shadow post."""
    _deck(draw, mask, width, height)
    cx, cy, rx, ry = width * 0.62, height * 0.8, width * 0.14, height * 0.1
    for target, fill in ((draw, (48, 46, 44)), (mask, 255)):
        target.rounded_rectangle((cx - rx, cy - ry, cx + rx, cy + ry), radius=width // 80,
                                 fill=fill)
    chips = ((200, 40, 35), (40, 150, 60), (40, 70, 180), (220, 190, 40))
    for (dx, dy), chip in zip(((-0.7, -0.6), (0.7, -0.6), (-0.7, 0.6), (0.7, 0.6)), chips,
                              strict=True):
        x, y = cx + dx * rx, cy + dy * ry
        draw.ellipse((x - rx * 0.2, y - ry * 0.25, x + rx * 0.2, y + ry * 0.25), fill=chip)
    for ring, grey in ((0.5, 235), (0.34, 130), (0.18, 25)):
        draw.ellipse((cx - rx * ring, cy - ry * ring * 1.1, cx + rx * ring, cy + ry * ring * 1.1),
                     fill=(grey, grey, grey))
    draw.line((cx, cy, cx + rx * 0.45, cy + ry * 0.2), fill=(12, 12, 12), width=width // 250)
    for target, fill in ((draw, (180, 178, 172)), (mask, 255)):
        target.rectangle((cx - width * 0.004, cy - ry * 0.9, cx + width * 0.004, cy), fill=fill)


def _wheel(draw, mask, width, height) -> None:
    """A wheel seen from the mast: a shaded cylinder with chevron grousers and a dent."""
    left, right, top, bottom = width * 0.1, width * 0.5, height * 0.35, height * 1.05
    span = right - left
    for step in range(64):  # cylinder shading across the tread, in strips
        x0 = left + span * step / 64
        level = int(70 + 140 * math.cos((step / 64 - 0.4) * math.pi * 0.9) ** 2)
        draw.rectangle((x0, top, x0 + span / 64 + 1, bottom), fill=(level, level - 4, level - 10))
    mask.rectangle((left, top, right, bottom), fill=255)
    for y in np.arange(top, bottom, height * 0.06):
        draw.line([(left, y), ((left + right) / 2, y + height * 0.025), (right, y)],
                  fill=(40, 38, 36), width=max(2, width // 220), joint="curve")
    draw.ellipse((left + span * 0.55, top + height * 0.2, left + span * 0.7, top + height * 0.26),
                 fill=(20, 20, 20))


def _add(shapes, radiance) -> np.ndarray:
    _paint(radiance, shapes)
    return radiance


# --- scenes ---------------------------------------------------------------------------------


_BUILDERS = {
    "horizon": lambda rng, w, h, c: _landscape(rng, w, h, c, "plain", 0.34, 0.05),
    "tracks": lambda rng, w, h, c: _landscape(rng, w, h, c, "tracks", 0.22, 0.03),
    "deck": lambda rng, w, h, c: _add(_deck, _landscape(rng, w, h, c, "plain", 0.3, 0.07)),
    "outcrop": lambda rng, w, h, c: _nadir(rng, w, h, "outcrop"),
    "dunes": lambda rng, w, h, c: _landscape(rng, w, h, c, "dunes", 0.4, 0.08),
    "caltarget": lambda rng, w, h, c: _add(_caltarget, _landscape(rng, w, h, c, "plain", 0.25,
                                                                  0.04)),
    "mountain": lambda rng, w, h, c: _landscape(rng, w, h, c, "plain", 0.55, 0.22),
    "sand": lambda rng, w, h, c: _nadir(rng, w, h, "ripples"),
    "wheel": lambda rng, w, h, c: _add(_wheel, _nadir(rng, w, h, "tracks")),
}


def _camera(radiance, rng, colour: bool, demosaic: bool) -> Image.Image:
    """Optics, vignetting, sensor noise and the 8-bit stretch of the downlinked product."""
    height, width = radiance.shape[:2]
    signal = radiance.mean(axis=2) if not colour else radiance
    signal = ndimage.gaussian_filter(signal, (0.7, 0.7, 0)[: signal.ndim])
    y, x = np.mgrid[:height, :width]
    r2 = ((x - width / 2) ** 2 + (y - height / 2) ** 2) / ((width / 2) ** 2 + (height / 2) ** 2)
    vignette = 1 - 0.22 * r2
    signal = signal * (vignette[..., None] if colour else vignette)
    electrons = np.clip(signal, 0, None) * 4000  # full well ~ 4000 e-: visible shot noise
    signal = (rng.poisson(electrons) + rng.normal(0, 12, electrons.shape)) / 4000
    if colour and demosaic:  # Bayer interpolation leaves chroma noise at half resolution
        chroma = ndimage.gaussian_filter(rng.normal(0, 0.01, signal.shape), (1, 1, 0))
        signal = signal + chroma - chroma.mean(axis=2, keepdims=True)
    low, high = np.percentile(signal, (0.2, 99.8))
    stretched = np.clip((signal - low) / (high - low), 0, 1) ** (1 / 1.15) * 245 + 5
    pixels = np.round(stretched).astype(np.uint8)
    return Image.fromarray(pixels, "RGB" if colour else "L")
