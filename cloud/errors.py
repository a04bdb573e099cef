"""The cloud package's exception hierarchy: one base, mixed with builtins."""


class CloudError(Exception):
    """Base of every error raised on purpose by the cloud package."""


class ConfigError(CloudError, ValueError):
    """A setting is missing or invalid. The message names the variable and where to set it."""


class HttpError(CloudError):
    """An error a route answers with (:mod:`cloud.api_errors`): its HTTP ``status``, its
    ``code`` and its message, one line that says what to change."""

    status = 500
    code = "INTERNAL"

    def headers(self) -> dict[str, str]:
        """Headers the answer carries besides the body (``Retry-After``)."""
        return {}
