"""The Mars API's exceptions: one base, mixed with builtins.

Import :class:`~cloud.bitmap.BitmapError` from the bitmap package; everything else the
Mars API raises on purpose is a :class:`MarsError`. Those a route answers with are also
:class:`~cloud.errors.HttpError` errors, carrying their status and code.
"""

from cloud.errors import CloudError, HttpError


class MarsError(CloudError):
    """Base of every error raised on purpose by :mod:`cloud.mars`."""


class BadParameter(MarsError, HttpError, ValueError):
    """A request parameter is invalid (HTTP 400). The message names the parameter."""

    status = 400
    code = "BAD_PARAMETER"


class UpstreamError(MarsError, OSError):
    """An upstream feed or image could not be fetched (timeout, HTTP error, too large...).

    :ivar status: the HTTP status when the upstream answered, else ``None``.
    :ivar retryable: whether trying again later may help (timeouts, 429, 5xx).
    :ivar retry_after_s: how long the upstream asked us to wait (its ``Retry-After``), if it did;
        the cache backs off that long.
    """

    def __init__(self, message: str, status: int | None = None, retryable: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class BadData(MarsError, ValueError):
    """An upstream answered, but with data we cannot use (malformed, empty, older)."""


class NoData(MarsError, HttpError, LookupError):
    """Nothing was ever obtained for a resource and no fallback exists (HTTP 503, with
    ``Retry-After``)."""

    status = 503
    code = "NO_DATA"

    def __init__(self, message: str, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class NotFound(MarsError, HttpError, LookupError):
    """A stored object (a bitmap) does not exist (HTTP 404)."""

    status = 404
    code = "NOT_FOUND"
