"""The deploy tool's errors, and the translation of AWS failures into one clear line each."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)


class DeployError(Exception):
    """Base of every error the deploy tool raises on purpose; its message is one line."""


class UsageError(DeployError, ValueError):
    """A command-line value is invalid; nothing was changed."""


class NoCredentials(DeployError):
    """No AWS credentials were found."""


class NoRegion(DeployError):
    """No AWS region was given or configured."""


class MissingPermission(DeployError, PermissionError):
    """The credentials may not call an API the deploy needs."""


class StackFailed(DeployError):
    """The stack operation failed; the message names the first failing resource."""


class BuildError(DeployError):
    """Building the Lambda artifacts failed."""


_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
           "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken",
           "ExpiredTokenException", "AuthorizationError")


def explain(exc: BaseException) -> DeployError:
    """Turn a botocore exception into a :class:`DeployError` with a one-line message.

    :param exc: what boto3 raised.
    :returns: the error to show; a :class:`DeployError` is returned unchanged.
    """
    if isinstance(exc, DeployError):
        return exc
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return NoCredentials(
            "no AWS credentials: run `aws configure` (or `aws sso login`), set AWS_PROFILE, "
            "or pass --profile")
    if isinstance(exc, ProfileNotFound):
        return NoCredentials(f"{exc}: check --profile or AWS_PROFILE against ~/.aws/config")
    if isinstance(exc, NoRegionError):
        return NoRegion("no AWS region: pass --region (e.g. --region eu-west-1) or set "
                        "AWS_REGION")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        message = " ".join(str(error.get("Message", "")).split())
        operation = getattr(exc, "operation_name", "an AWS call")
        if code in _DENIED or "not authorized" in message:
            if code in ("InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken",
                        "ExpiredTokenException"):
                return NoCredentials(f"AWS rejected the credentials ({code}): sign in again or "
                                     "check --profile")
            return MissingPermission(
                f"missing permission for {operation}: {message or code}; the deploying user "
                "needs the permissions listed in tools/deploy/README.md")
        return DeployError(f"{operation} failed: {code}: {message}")
    return DeployError(" ".join(str(exc).split()) or type(exc).__name__)
