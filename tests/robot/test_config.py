"""The agent's config file: the example loads, and every error names the key and the file."""

from pathlib import Path

import pytest
from robot_agent.config import load, parse
from robot_agent.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "device/robot-pi/config.example.toml"


def test_example_config_is_valid(tmp_path):
    # The example points at certificate files; make them exist where it says.
    text = EXAMPLE.read_text()
    for name in ("certificate.pem.crt", "private.pem.key", "AmazonRootCA1.pem"):
        (tmp_path / name).write_text("x")
        text = text.replace(f"/etc/robot-agent/certs/{name}", str(tmp_path / name))
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = load(path)
    assert config.name == "sts-pi"
    assert (config.mqtt.port, config.mqtt.tls, config.mqtt.alpn) == (8883, True, False)
    assert config.motors.driver == "explorer-hat" and config.motors.left is None
    assert config.commands.max_command_age_ms == 1000
    assert config.camera.driver == "none"


def test_port_443_turns_alpn_on(tmp_path):
    for name in ("c", "k", "ca"):
        (tmp_path / name).write_text("x")
    config = parse({"name": "r", "mqtt": {"endpoint": "x-ats.iot.eu-west-1.amazonaws.com",
                                          "port": 443, "cert": str(tmp_path / "c"),
                                          "key": str(tmp_path / "k"),
                                          "ca": str(tmp_path / "ca")}})
    assert config.mqtt.alpn and config.mqtt.tls


def test_local_url():
    config = parse({"name": "sts-pi", "mqtt": {"url": "mqtt://127.0.0.1:1884"}})
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls) == ("127.0.0.1", 1884, False)


@pytest.mark.parametrize(("data", "expected"), [
    ({"mqtt": {"url": "mqtt://h:1"}}, "name is required"),
    ({"name": "bad name!", "mqtt": {"url": "mqtt://h:1"}}, "name = 'bad name!' is invalid"),
    ({"name": "r"}, "[mqtt] is required"),
    ({"name": "r", "mqtt": {}}, "exactly one of url"),
    ({"name": "r", "mqtt": {"url": "http://h:1"}}, "[mqtt] url = 'http://h:1' is invalid"),
    ({"name": "r", "mqtt": {"endpoint": "e", "port": 1883}}, "[mqtt] port = 1883 is invalid"),
    ({"name": "r", "mqtt": {"endpoint": "e"}}, "[mqtt] cert is required"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "motors": {"driver": "l298"}},
     "[motors] driver = 'l298' is invalid"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "motors": {"max_speed": 2}},
     "[motors] max_speed = 2 is invalid"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "motors": {"max_speed": 0}},
     "[motors] max_speed = 0 is invalid"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "motors": {"invert_left": "yes"}},
     "[motors] invert_left = 'yes' is invalid"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "motors": {"driver": "custom"}},
     "[motors] left is required"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"},
      "motors": {"driver": "custom", "left": {"forward": 1, "backward": 2},
                 "right": {"forward": 2, "backward": 3}}}, "same pin twice"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "motors": {"left": {"forward": 1}}},
     'only with driver = "custom"'),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "commands": {"max_duration_ms": 5000}},
     "[commands] max_duration_ms = 5000 is invalid"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "motor": {}}, "unknown key 'motor'"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1", "keepalive": 5}}, "unknown key 'keepalive'"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "motors": 5}, "[motors] must be a table"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"},
      "motors": {"driver": "custom", "left": {"forward": 1}, "right": {"phase": 2, "enable": 3}}},
     "[motors] left = {'forward': 1} is invalid"),
    # [camera] is read by the same reader: typed, bounded, the file named.
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "camera": {"fps": 90}},
     "[camera] fps = 90 is invalid: expected 1 <= x <= 30"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "camera": {"driver": "webcam"}},
     "[camera] driver = 'webcam' is invalid"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "camera": {"sorce": "v4l2"}},
     "[camera] unknown key 'sorce'"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1"}, "camera": {"driver": "aiortc"}},
     "[camera] region is required"),
    ({"name": "r", "mqtt": {"url": "mqtt://h:1", "password": "hunter2"}},
     "[mqtt] username is invalid: username and password go together"),
])
def test_errors_name_the_key_and_file(data, expected):
    with pytest.raises(ConfigError) as error:
        parse(data, "/etc/robot-agent/config.toml")
    message = str(error.value)
    assert message.startswith("/etc/robot-agent/config.toml: ")
    assert expected in message
    assert "hunter2" not in message  # a password is never shown


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = ")
    with pytest.raises(ConfigError, match="bad.toml: is not valid TOML"):
        load(bad)


def test_missing_key_file_is_named_by_key_not_content(tmp_path):
    (tmp_path / "c").write_text("x")
    (tmp_path / "ca").write_text("x")
    with pytest.raises(ConfigError, match=r"\[mqtt\] key: file .*k does not exist"):
        parse({"name": "r", "mqtt": {"endpoint": "e", "cert": str(tmp_path / "c"),
                                     "key": str(tmp_path / "k"), "ca": str(tmp_path / "ca")}})


def test_redacted_hides_the_key_path(tmp_path):
    for name in ("c", "secret-key.pem", "ca"):
        (tmp_path / name).write_text("x")
    config = parse({"name": "r", "mqtt": {"endpoint": "e", "cert": str(tmp_path / "c"),
                                          "key": str(tmp_path / "secret-key.pem"),
                                          "ca": str(tmp_path / "ca")}})
    shown = repr(config.redacted())
    assert "secret-key" not in shown and "'key': '***'" in shown
