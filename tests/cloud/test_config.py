import pytest

from cloud import config
from cloud.errors import ConfigError


def test_defaults_are_valid():
    cfg = config.load({})
    assert cfg.mars_site_base == "https://mars.nasa.gov"
    assert cfg.nasa_api_base == "https://api.nasa.gov"
    assert cfg.nasa_api_key == "DEMO_KEY"
    assert cfg.mars_rovers == ("perseverance", "curiosity")
    assert cfg.robot_names == ("sts-pi",)
    assert cfg.mars_photos_api_base is None


def test_values_are_parsed():
    cfg = config.load({"MARS_ROVERS": " Curiosity ", "ROBOT_NAMES": "a,b-2",
                       "MARS_SITE_BASE": "http://127.0.0.1:9000/", "REFRESH_S": "60"})
    assert cfg.mars_rovers == ("curiosity",)
    assert cfg.robot_names == ("a", "b-2")
    assert cfg.mars_site_base == "http://127.0.0.1:9000"
    assert cfg.refresh_s == 60


@pytest.mark.parametrize("name, value, words", [
    ("MARS_SITE_BASE", "mars.nasa.gov", "http(s) URL"),
    ("MARS_ROVERS", "sojourner", "unknown name 'sojourner'"),
    ("REFRESH_S", "0", "above 0"),
    ("REFRESH_S", "ten", "invalid"),
    ("ROBOT_NAMES", "bad name!", "may only use"),
    ("LOG_LEVEL", "LOUD", "DEBUG, INFO"),
])
def test_bad_values_name_the_variable_and_where_to_set_it(name, value, words):
    with pytest.raises(ConfigError) as error:
        config.load({name: value})
    message = str(error.value)
    assert message.startswith(f"{name}=")
    assert words in message
    assert "template.yaml" in message


def test_secrets_are_never_shown():
    with pytest.raises(ConfigError):
        config.load({"NASA_API_KEY": "k", "MARS_ROVERS": ""})
    cfg = config.load({"NASA_API_KEY": "very-secret"})
    assert cfg.redacted()["nasa_api_key"] == "***"
    assert "very-secret" not in repr(cfg.redacted())


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)
