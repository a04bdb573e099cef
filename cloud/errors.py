"""The cloud package's exception hierarchy: one base, mixed with builtins."""


class CloudError(Exception):
    """Base of every error raised on purpose by the cloud package."""


class ConfigError(CloudError, ValueError):
    """A setting is missing or invalid. The message names the variable and where to set it."""
