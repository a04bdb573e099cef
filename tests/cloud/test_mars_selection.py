"""Which photo is shown: ranking, the newest sols, stereo twins, rotation."""

from __future__ import annotations

from cloud.mars import selection
from cloud.mars.models import Photo
from cloud.mars.photos import parse_perseverance
from testing.fake_nasa import load_fixture


def photo(n: int, sol: int = 100, camera: str = "NAVCAM_LEFT", colour: bool = True,
          taken: str | None = None, size: tuple[int, int] = (1280, 960)) -> Photo:
    return Photo(id=f"p:{n}", rover="Perseverance", camera=camera, sol=sol,
                 url=f"http://x/{n}.jpg", taken_utc=taken or f"2026-01-01T00:00:{n:02d}Z",
                 colour=colour, width=size[0], height=size[1])


def test_colour_landscapes_rank_first_and_stereo_twins_are_dropped():
    photos = parse_perseverance(load_fixture("perseverance_raw_images.json"))
    chosen = selection.candidates(photos)
    assert chosen[0].camera == "MCZ_LEFT" and chosen[0].colour
    assert [p.camera for p in chosen].count("NAVCAM_RIGHT") == 0  # twin of NAVCAM_LEFT
    assert chosen[-1].colour is False  # gray only after every colour frame
    assert {p.sol for p in chosen} <= {1994, 1993, 1990}


def test_only_the_newest_sols_are_considered():
    photos = [photo(1, sol=10), photo(2, sol=9), photo(3, sol=8), photo(4, sol=7)]
    assert {p.sol for p in selection.candidates(photos)} == {10, 9, 8}


def test_colour_beats_gray_and_rotation_size_is_bounded():
    photos = [photo(i, colour=i % 2 == 0) for i in range(20)]
    chosen = selection.candidates(photos, limit=6)
    assert len(chosen) == 6 and all(p.colour for p in chosen)


def test_rotation_changes_between_windows_and_is_stable_within_one():
    chosen = [photo(i) for i in range(4)]
    first = selection.pick(chosen, 6000.0, 600)[0]
    assert selection.pick(chosen, 6599.0, 600)[0] == first
    shown = {selection.pick(chosen, 6000.0 + 600 * k, 600)[0].id for k in range(4)}
    assert len(shown) == 4  # every candidate gets its turn


def test_broken_photos_go_last():
    chosen = [photo(i) for i in range(3)]
    order = selection.pick(chosen, 0.0, 600, skip=frozenset({"p:0"}))
    assert [p.id for p in order] == ["p:1", "p:2", "p:0"]
    assert selection.pick([], 0.0, 600) == []
