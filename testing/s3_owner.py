"""S3's bucket-owner condition, which moto accepts but does not enforce.

Real S3 answers 403 to any request whose ``ExpectedBucketOwner`` is not the bucket's owner.
:func:`enforce` gives a moto-backed client that behaviour (through botocore's event hooks,
with the owner moto recorded at ``CreateBucket``) and records which calls carried the
condition, so a test can prove that every S3 call of the deploy tool does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse


@dataclass
class OwnerLog:
    #: ``(operation, bucket, expected owner or None)`` for every call, in order
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)

    def unconditional(self, *, except_ops: tuple[str, ...] = ("CreateBucket",)) -> list:
        """Calls to a bucket without the owner condition (CreateBucket cannot carry one)."""
        return [c for c in self.calls if c[2] is None and c[0] not in except_ops]


def _owner(bucket: str) -> str | None:
    from moto.s3.models import s3_backends

    found = s3_backends.bucket_accounts.get(bucket)
    return found[1] if found else None


def enforce(client: Any) -> OwnerLog:
    """Make *client* (S3, under ``mock_aws``) refuse calls whose expected owner is wrong."""
    log = OwnerLog()
    local = threading.local()  # s3transfer uploads from worker threads

    def remember(params: dict[str, Any], model: Any, **_: Any) -> None:
        local.call = (model.name, params.get("Bucket"), params.get("ExpectedBucketOwner"))

    def check(model: Any, **_: Any) -> tuple[AWSResponse, dict] | None:
        name, bucket, expected = getattr(local, "call", (model.name, None, None))
        if bucket is None:
            return None
        log.calls.append((name, bucket, expected))
        owner = _owner(bucket)
        if expected is None or owner is None or owner == expected:
            return None
        response = AWSResponse("https://s3.amazonaws.com", 403, {}, None)
        return response, {"Error": {"Code": "403" if name.startswith("Head") else "AccessDenied",
                                    "Message": "Access Denied"},
                          "ResponseMetadata": {"HTTPStatusCode": 403}}

    client.meta.events.register("before-parameter-build.s3", remember)
    client.meta.events.register("before-call.s3", check)
    return log
