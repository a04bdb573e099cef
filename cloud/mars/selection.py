"""Which photo to show: rank the suitable photos of the newest sols, rotate through the best.

Pure functions; the service calls :func:`candidates` when metadata is refreshed and
:func:`pick` on every request, so the display changes from one ``refresh_s`` window to the next
while every device asking within a window sees the same photo (and the same cached bitmap).
"""

from __future__ import annotations

from collections.abc import Sequence

from cloud.mars.models import Photo

ROTATION = 6  # how many good photos take turns
MAX_SOLS = 3  # look this far back from the newest sol with suitable photos

# Landscape cameras first; close-up and laser-spot cameras last.
CAMERA_RANK = {
    "MCZ_LEFT": 5, "MCZ_RIGHT": 5, "MAST_LEFT": 5, "MAST_RIGHT": 5, "MAST": 5,
    "NAVCAM_LEFT": 4, "NAVCAM_RIGHT": 4, "NAVCAM": 3, "NAV_LEFT_B": 3, "NAV_RIGHT_B": 3,
    "FRONT_HAZCAM_LEFT_A": 3, "FRONT_HAZCAM_RIGHT_A": 3, "REAR_HAZCAM_LEFT": 3,
    "REAR_HAZCAM_RIGHT": 3, "MAHLI": 2, "SHERLOC_WATSON": 2, "FHAZ": 2, "RHAZ": 2,
    "FHAZ_LEFT_B": 2, "RHAZ_RIGHT_B": 2, "FHAZ_RIGHT_B": 2, "RHAZ_LEFT_B": 2,
    "MARDI": 1, "HELI_RTE": 1, "CHEMCAM_RMI": 0, "SUPERCAM_RMI": 0, "CHEMCAM": 0,
}


def score(photo: Photo) -> tuple[int, int, int]:
    """Higher is better: colour first, then the camera, then the frame's size."""
    area = (photo.width or 0) * (photo.height or 0)
    return (1 if photo.colour else 0, CAMERA_RANK.get(photo.camera, 1), min(area, 2_000_000))


def candidates(photos: Sequence[Photo], limit: int = ROTATION) -> list[Photo]:
    """The best ``limit`` photos of the newest ``MAX_SOLS`` sols, best first.

    Stereo twins (the right eye of a left/right pair) are dropped so the rotation shows
    different scenes rather than the same one twice.
    """
    sols = sorted({p.sol for p in photos}, reverse=True)[:MAX_SOLS]
    pool = [p for p in photos if p.sol in sols]
    # Of a stereo pair the left eye wins (the cameras' reference eye).
    pool.sort(key=lambda p: (score(p), p.sol, p.taken_utc or "", "RIGHT" not in p.camera, p.id),
              reverse=True)
    chosen: list[Photo] = []
    seen_shots: set[tuple] = set()
    for photo in pool:
        shot = (photo.rover, photo.sol, photo.camera.replace("RIGHT", "LEFT"), photo.taken_utc)
        if photo.taken_utc and shot in seen_shots:
            continue
        seen_shots.add(shot)
        chosen.append(photo)
        if len(chosen) == limit:
            break
    return chosen


def pick(choices: Sequence[Photo], now_s: float, refresh_s: int, skip: frozenset[str] = frozenset(),
         ) -> list[Photo]:
    """``choices`` in the order to try for the window containing ``now_s``.

    The first is this window's photo; the rest are fallbacks should its download or conversion
    fail. Photos whose id is in ``skip`` (known broken) go last.
    """
    if not choices:
        return []
    start = int(now_s // refresh_s) % len(choices)
    ordered = list(choices[start:]) + list(choices[:start])
    return [p for p in ordered if p.id not in skip] + [p for p in ordered if p.id in skip]


def newest(photos: Sequence[Photo], count: int) -> list[Photo]:
    """The ``count`` newest of ``photos`` (the answer's ``photos`` list), newest first."""
    ordered = sorted(photos, key=lambda p: (p.sol, p.taken_utc or "", p.id), reverse=True)
    return ordered[:count]
