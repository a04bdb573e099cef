"""The api.nasa.gov key: an SSM SecureString in AWS, the environment on a laptop.

In AWS, ``deploy`` puts the key into the SecureString that ``NASA_API_KEY_PARAMETER`` names, and
each container reads it once, decrypted, through Powertools Parameters, when it builds the
service: the key is in no environment variable, no URL (it travels as a header, see
:func:`cloud.mars.http.nasa_key_header`) and no log line. The local stack leaves the parameter
empty and keeps ``NASA_API_KEY``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from cloud.config import WHERE, Config
from cloud.errors import ConfigError

# At DEBUG, botocore logs every response body: GetParameter's holds the decrypted key.
_SDK_LOGGERS = ("botocore", "boto3", "urllib3")


def nasa_api_key(config: Config) -> str:
    """The key, read from SSM when ``NASA_API_KEY_PARAMETER`` is set.

    :raises ConfigError: naming the parameter (never its value) when it cannot be read.
    """
    name = config.nasa_api_key_parameter
    if not name:
        return config.nasa_api_key
    from aws_lambda_powertools.utilities import parameters  # only in AWS: boto3 is slow to load

    try:
        with _sdk_quiet():
            value = parameters.get_parameter(name, decrypt=True)
    except parameters.exceptions.GetParameterError as exc:
        # the SDK's message names the parameter and the error, never the value
        raise ConfigError(f"NASA_API_KEY_PARAMETER={name!r}: the SecureString could not be read "
                          f"({str(exc)[:160]}); `python -m tools.deploy deploy --nasa-api-key "
                          f"KEY` puts it there; {WHERE}") from None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"NASA_API_KEY_PARAMETER={name!r} holds no key; {WHERE}")
    return value


@contextlib.contextmanager
def _sdk_quiet() -> Iterator[None]:
    """The SDK's loggers at INFO or above while the secret is read, whatever the root level."""
    loggers = [logging.getLogger(name) for name in _SDK_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
