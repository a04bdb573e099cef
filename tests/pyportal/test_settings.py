"""settings.toml validation: every bad value names the setting and where to fix it."""

from __future__ import annotations

import pytest

GOOD = {"CIRCUITPY_WIFI_SSID": "home", "CIRCUITPY_WIFI_PASSWORD": "secret-pw",
        "MARS_API_URL": "https://api.example/prod", "MARS_API_KEY": "k3y"}


def load(device, **changes):
    values = {**GOOD, **changes}
    values = {k: v for k, v in values.items() if v is not None}
    return device.settings.load(getenv=lambda k, d=None: values.get(k, d))


def test_defaults(device):
    s = load(device)
    assert (s.ssid, s.password, s.api_url, s.api_key) == (
        "home", "secret-pw", "https://api.example/prod", "k3y")
    assert (s.refresh_minutes, s.units) == (10, "C")


def test_ints_from_either_firmware(device):
    assert load(device, REFRESH_MINUTES=5).refresh_minutes == 5  # int (CircuitPython <= 10)
    assert load(device, REFRESH_MINUTES=" 7 ").refresh_minutes == 7  # str


def test_url_forms(device):
    assert load(device, MARS_API_URL="http://127.0.0.1:8000/").api_url == "http://127.0.0.1:8000"
    assert load(device, MARS_API_URL="https://x.example/prod/mars").api_url == (
        "https://x.example/prod")
    assert load(device, UNITS="f").units == "F"
    assert load(device, CIRCUITPY_WIFI_PASSWORD=None).password == ""


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("CIRCUITPY_WIFI_SSID", None, "is missing"),
    ("MARS_API_KEY", None, "is missing"),
    ("MARS_API_KEY", "  ", "is empty"),
    ("MARS_API_URL", None, "is missing"),
    ("MARS_API_URL", "api.example", "must start with https:// or http://"),
    ("MARS_API_URL", "https://x/mars?width=1", "must be a base URL without ? or spaces"),
    ("REFRESH_MINUTES", "ten", "must be a whole number of minutes"),
    ("REFRESH_MINUTES", 0, "must be between 1 and 1440"),
    ("REFRESH_MINUTES", 2000, "must be between 1 and 1440"),
    ("UNITS", "K", 'must be "C" or "F"'),
])
def test_bad_setting_is_named(device, name, value, problem):
    with pytest.raises(device.errors.SettingError) as err:
        load(device, **{name: value})
    assert err.value.name == name
    assert str(err.value) == f"{name} {problem}: set it in settings.toml"


def test_secrets_not_in_repr(device):
    text = repr(load(device))
    assert "secret-pw" not in text and "k3y" not in text and "home" in text
