"""Video that fits the Pi: presets by model, limits refused with what the model can do."""

from __future__ import annotations

import pytest
from robot_agent.camera.models import MODELS, detect
from robot_agent.camera.settings import parse_settings
from robot_agent.errors import ConfigError

LOCAL = {"driver": "aiortc", "signaling_url": "ws://127.0.0.1:1/signaling",
         "signaling_token": "t"}


def model_file(tmp_path, text: str):
    path = tmp_path / "model"
    path.write_bytes(text.encode() + b"\0")  # the device tree's string ends in NUL
    return path


@pytest.mark.parametrize(("text", "key"), [
    ("Raspberry Pi Zero 2 W Rev 1.0", "pi-zero-2"),
    ("Raspberry Pi 3 Model B Plus Rev 1.3", "pi-3"),
    ("Raspberry Pi 4 Model B Rev 1.5", "pi-4"),
    ("Raspberry Pi 5 Model B Rev 1.0", "pi-5"),
    ("Raspberry Pi Model B Rev 2", "any"),
])
def test_the_model_is_read_from_the_device_tree(tmp_path, text, key):
    assert detect(model_file(tmp_path, text)).key == key


def test_no_device_tree_is_a_computer(tmp_path):
    assert detect(tmp_path / "absent").key == "any"


@pytest.mark.parametrize(("text", "size"), [
    ("Raspberry Pi Zero 2 W Rev 1.0", (640, 480, 15, 4)),
    ("Raspberry Pi 4 Model B Rev 1.5", (1280, 720, 15, 10)),
])
def test_the_preset_is_the_default(tmp_path, text, size):
    s = parse_settings(LOCAL, "sts-pi", model_file=model_file(tmp_path, text))
    assert (s.width, s.height, s.fps, s.max_viewers) == size


def test_more_than_the_model_can_do_is_refused_with_what_it_can(tmp_path):
    zero = model_file(tmp_path, "Raspberry Pi Zero 2 W Rev 1.0")
    with pytest.raises(ConfigError) as error:
        parse_settings({**LOCAL, "width": 1920, "height": 1080, "fps": 30}, "sts-pi",
                       model_file=zero)
    message = str(error.value)
    assert "Raspberry Pi Zero 2 W" in message and "at most 1280x720 at 15 fps" in message
    assert "preset is 640x480 at 15 fps" in message and 'model = "any"' in message
    with pytest.raises(ConfigError, match="at most 4 viewers"):
        parse_settings({**LOCAL, "max_viewers": 10}, "sts-pi", model_file=zero)
    # The override: a named model, or no limit.
    assert parse_settings({**LOCAL, "width": 1920, "height": 1080, "fps": 30, "model": "any"},
                          "sts-pi", model_file=zero).fps == 30
    assert parse_settings({**LOCAL, "model": "pi-4"}, "sts-pi", model_file=zero).width == 1280
    with pytest.raises(ConfigError, match="model"):
        parse_settings({**LOCAL, "model": "pi-6"}, "sts-pi", model_file=zero)


def test_the_pi_5_has_no_hardware_encoder():
    assert MODELS["pi-5"].encoder == "libx264"
    assert {MODELS[k].encoder for k in ("pi-zero-2", "pi-3", "pi-4")} == {"h264_v4l2m2m"}


def test_an_encoder_that_cannot_open_falls_back_to_libx264(caplog):
    from robot_agent.camera.encoder import open_codec

    # No V4L2 M2M device here (as on a Pi 5, or PyAV's FFmpeg without it): software instead.
    codec = open_codec("h264_v4l2m2m", 320, 240, 15, 500_000)
    assert codec.name == "libx264" and (codec.width, codec.height) == (320, 240)
    assert "h264_v4l2m2m unavailable" in caplog.text
