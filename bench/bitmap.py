"""Benchmark of the device-bitmap pipeline. Prints one JSON object.

* ``conversion_ms``: median wall time of ``convert`` for a ~1650x1200 and a ~5000x3800 colour
  JPEG (q=90, made by upscaling scikit-image photos), to 320x240 and 480x320, depth 8 and 16;
* ``fidelity``: SSIM of the picture as the RGB565 panel shows it against an aspect-correct
  Lanczos resize of the original, and the bitmap's size in bytes, for scikit-image's natural
  photographs, per depth and screen size, with the mean;
* ``targets``: the issue's targets and whether they are met.

``run()`` returns the same dict, for ``bench/mars_api.py``.
"""

from __future__ import annotations

import json
import statistics
import time

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

from cloud.bitmap import convert, fit, panel_view
from testing.sample_images import NATURAL_PHOTOS, encode, photo

PHOTOS = NATURAL_PHOTOS
SOURCES = {"1650x1200": ("coffee", (1650, 1200)), "5000x3800": ("chelsea", (5000, 3800))}
SCREENS = ((320, 240), (480, 320))
DEPTHS = (8, 16)
RUNS = 7
TARGETS = {
    "ms_1650x1200_to_320x240": 60.0,
    "mean_ssim_depth8": 0.93,
    "mean_ssim_depth16": 0.97,
    "bytes_depth8_320x240": 78 * 1024,
}


def _median_ms(function, runs: int = RUNS) -> float:
    function()  # warm up: plugin imports, first-call allocations
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def conversion_ms() -> dict:
    results = {}
    for label, (name, size) in SOURCES.items():
        jpeg = encode(photo(name).resize(size, Image.Resampling.LANCZOS), "JPEG", quality=90)
        for width, height in SCREENS:
            for depth in DEPTHS:
                key = f"{label}->{width}x{height}/d{depth}"
                results[key] = _median_ms(
                    lambda j=jpeg, w=width, h=height, d=depth: convert(j, w, h, d)
                )
    return results


def _ssim(photo: Image.Image, bmp: bytes, size: tuple[int, int]) -> float:
    box = fit.crop_box(photo.size, size)
    reference = np.asarray(photo.resize(size, Image.Resampling.LANCZOS, box=box))
    shown = np.asarray(panel_view(bmp))
    return float(structural_similarity(reference, shown, channel_axis=2, data_range=255))


def fidelity() -> dict:
    results = {}
    photos = {name: photo(name) for name in PHOTOS}
    for width, height in SCREENS:
        for depth in DEPTHS:
            per_photo = {}
            for name, image in photos.items():
                bmp = convert(encode(image, "PNG"), width, height, depth)
                per_photo[name] = {
                    "ssim": round(_ssim(image, bmp, (width, height)), 4),
                    "bytes": len(bmp),
                }
            results[f"{width}x{height}/d{depth}"] = {
                "mean_ssim": round(statistics.mean(p["ssim"] for p in per_photo.values()), 4),
                "bytes": max(p["bytes"] for p in per_photo.values()),
                "photos": per_photo,
            }
    return results


def run() -> dict:
    times = conversion_ms()
    quality = fidelity()
    measured = {
        "ms_1650x1200_to_320x240": max(
            times["1650x1200->320x240/d8"], times["1650x1200->320x240/d16"]
        ),
        "mean_ssim_depth8": min(quality[f"{w}x{h}/d8"]["mean_ssim"] for w, h in SCREENS),
        "mean_ssim_depth16": min(quality[f"{w}x{h}/d16"]["mean_ssim"] for w, h in SCREENS),
        "bytes_depth8_320x240": quality["320x240/d8"]["bytes"],
    }
    lower_is_better = {"ms_1650x1200_to_320x240", "bytes_depth8_320x240"}
    targets = {
        key: {
            "target": target,
            "measured": measured[key],
            "met": measured[key] <= target if key in lower_is_better else measured[key] >= target,
        }
        for key, target in TARGETS.items()
    }
    return {
        "benchmark": "bitmap",
        "runs_per_timing": RUNS,
        "conversion_ms": times,
        "fidelity": quality,
        "targets": targets,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
