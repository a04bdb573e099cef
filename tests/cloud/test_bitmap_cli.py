"""``python -m tools.bitmap``, run as a user runs it: a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testing import bmpcheck
from testing import sample_images as samples

ROOT = Path(__file__).resolve().parents[2]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.bitmap", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "mars.jpg"
    path.write_bytes(samples.encode(samples.photo("rocket"), "JPEG", quality=90))
    return path


def test_defaults_make_a_pyportal_bitmap(tmp_path, photo):
    dst = tmp_path / "mars.bmp"
    result = run(photo, dst)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert "320x240" in lines[0] and "77878 bytes" in lines[0] and " ms" in lines[0]
    info = bmpcheck.check(dst.read_bytes())
    assert (info.width, info.height, info.bits_per_pixel) == (320, 240, 8)


def test_size_depth_and_fit_flags(tmp_path, photo):
    dst = tmp_path / "titano.bmp"
    result = run(photo, dst, "--size", "480x320", "--depth", "16", "--fit", "contain")
    assert result.returncode == 0, result.stderr
    info = bmpcheck.check(dst.read_bytes())
    assert (info.width, info.height, info.bits_per_pixel) == (480, 320, 16)
    # rocket is 640x427, the Titano's 3:2 exactly: contain fills the screen, no bars...
    assert bmpcheck.colours(dst.read_bytes())[:, :40].any()
    square = tmp_path / "square.png"
    square.write_bytes(samples.photo_png("astronaut"))
    assert run(square, dst, "--size", "480x320", "--fit", "contain").returncode == 0
    # ...while a square photo gets 80-pixel black bars at the sides.
    colours = bmpcheck.colours(dst.read_bytes())
    assert not colours[:, :80].any() and not colours[:, 400:].any() and colours[:, 80:400].any()


def test_depth_4_is_half_the_bytes(tmp_path, photo):
    dst = tmp_path / "mars.bmp"
    result = run(photo, dst, "--depth", "4")
    assert result.returncode == 0, result.stderr
    assert "depth 4" in result.stdout and "38518 bytes" in result.stdout
    info = bmpcheck.check(dst.read_bytes())
    assert (info.width, info.height, info.bits_per_pixel, len(info.palette)) == (320, 240, 4, 16)


@pytest.mark.parametrize(
    ("make_src", "extra", "message"),
    [
        (lambda p: p.write_bytes(b"<html>404</html>"), [], "not a supported image"),
        (lambda p: None, [], "cannot read"),
        (
            lambda p: p.write_bytes(samples.encode(samples.flat((1, 2, 3)))),
            ["--size", "8x8"],
            "width must be",
        ),
    ],
    ids=["not-an-image", "missing", "too-small"],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, make_src, extra, message):
    src, dst = tmp_path / "in.jpg", tmp_path / "out.bmp"
    make_src(src)
    result = run(src, dst, *extra)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert not dst.exists()
    assert [p.name for p in tmp_path.iterdir()] == (["in.jpg"] if src.exists() else [])


def test_unwritable_destination_is_one_line(tmp_path, photo):
    result = run(photo, tmp_path / "no-such-folder" / "out.bmp")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "cannot write" in result.stderr


@pytest.mark.parametrize(
    "flags", [["--size", "320by240"], ["--depth", "24"], ["--fit", "fill"]])
def test_bad_flags_are_refused_by_argparse(tmp_path, photo, flags):
    result = run(photo, tmp_path / "out.bmp", *flags)
    assert result.returncode == 2
    assert "usage:" in result.stderr
