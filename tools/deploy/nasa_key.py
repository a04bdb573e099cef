"""The api.nasa.gov key in AWS: an SSM SecureString per stack, which the Mars functions read.

CloudFormation cannot create a SecureString, so ``deploy`` puts the key there before the stack
update (the template gets only the parameter's name, ``NasaApiKeyParameter``) and ``destroy``
removes it after the stack. The key is encrypted with the account's ``aws/ssm`` key and never
shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

DEMO_KEY = "DEMO_KEY"


def parameter_name(stack: str) -> str:
    """The SecureString of ``stack``'s key (the template's ``NasaApiKeyParameter``)."""
    return f"/{stack}/nasa-api-key"


def store(ssm: Any, stack: str, key: str | None, emit: Callable[[str], None]) -> str:
    """Put ``key`` into the stack's SecureString (a missing key keeps the stored one, or stores
    ``DEMO_KEY`` when there is none); the parameter's name."""
    name = parameter_name(stack)
    if key is None:
        try:
            ssm.get_parameter(Name=name)  # not decrypted: only whether it is there
            emit(f"NASA key: kept in SSM SecureString {name}")
            return name
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ParameterNotFound":
                raise
        key = DEMO_KEY
        emit(f"NASA key: none given, {DEMO_KEY} (rate limited) stored in {name}; pass "
             "--nasa-api-key to use yours")
    else:
        emit(f"NASA key: stored in SSM SecureString {name}")
    ssm.put_parameter(Name=name, Value=key, Type="SecureString", Overwrite=True,
                      Description="api.nasa.gov key of the Mars functions (tools.deploy)")
    return name


def remove(ssm: Any, stack: str, emit: Callable[[str], None]) -> None:
    """Delete the stack's SecureString (nothing when it is gone already)."""
    name = parameter_name(stack)
    try:
        ssm.delete_parameter(Name=name)
        emit(f"NASA key: SSM SecureString {name} deleted")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ParameterNotFound":
            raise
