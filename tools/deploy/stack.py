"""CloudFormation: the artifact bucket, uploads, change sets, streamed events, outputs.

Every function takes the boto3 clients it needs, so tests hand in moto clients or clients with a
botocore ``Stubber`` attached. ``emit`` receives each progress line (``print`` by default).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from tools.deploy.build import Artifact
from tools.deploy.errors import DeployError, StackFailed

Emit = Callable[[str], None]
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "no changes")
_CANCELLED = ("Resource creation cancelled", "Resource update cancelled",
              "Resource deletion cancelled")


def artifact_bucket_name(stack: str, account: str, region: str) -> str:
    """One artifact bucket per stack, account and region (bucket names are global)."""
    return f"{stack.lower()}-artifacts-{account}-{region}"[:63].rstrip("-")


def ensure_bucket(s3: Any, bucket: str, region: str, emit: Emit = print) -> None:
    """Create the private, encrypted artifact bucket unless it exists."""
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    emit(f"creating artifact bucket s3://{bucket}")
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    # old artifacts stay long enough for a rollback, then go
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "expire-old-artifacts", "Status": "Enabled", "Filter": {"Prefix": ""},
         "Expiration": {"Days": 90}}]})


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def upload_artifacts(s3: Any, bucket: str, prefix: str, artifacts: Iterable[Artifact],
                     emit: Emit = print) -> dict[str, tuple[str, str]]:
    """Upload each artifact under its content hash, skipping those already there.

    :returns: ``{template path: (bucket, key)}`` for :func:`tools.deploy.template.package`.
    """
    locations = {}
    for artifact in artifacts:
        key = f"{prefix}/{artifact.key}"
        if _exists(s3, bucket, key):
            emit(f"unchanged {artifact.name} ({artifact.size / 2**20:.1f} MB)")
        else:
            emit(f"uploading {artifact.name} ({artifact.size / 2**20:.1f} MB)")
            s3.upload_file(str(artifact.path), bucket, key)
        locations[artifact.name] = (bucket, key)
    return locations


def upload_template(s3: Any, bucket: str, prefix: str, body: str, region: str) -> str:
    """Store the packaged template (it outgrows the 51,200-byte inline limit) and return its URL."""
    key = f"{prefix}/template-{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"
    if not _exists(s3, bucket, key):
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode(),
                      ContentType="application/json")
    host = "s3.amazonaws.com" if region == "us-east-1" else f"s3.{region}.amazonaws.com"
    return f"https://{bucket}.{host}/{key}"


def stack_status(cfn: Any, name: str) -> str | None:
    """The stack's status, or ``None`` when there is no such stack."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in exc.response["Error"].get("Message", ""):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def outputs(cfn: Any, name: str) -> dict[str, str]:
    """The stack's outputs as ``{key: value}``."""
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _parameters(values: Mapping[str, str | None], updating: bool) -> list[dict[str, Any]]:
    params = []
    for key, value in sorted(values.items()):
        if value is not None:
            params.append({"ParameterKey": key, "ParameterValue": value})
        elif updating:  # not given this time: keep what the stack has (e.g. the NASA key)
            params.append({"ParameterKey": key, "UsePreviousValue": True})
    return params


def _new_events(cfn: Any, name: str, seen: set[str]) -> list[dict[str, Any]]:
    """Stack events not yet seen, oldest first (the API lists newest first)."""
    fresh: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StackName": name}
    while True:
        page = cfn.describe_stack_events(**kwargs)
        for event in page["StackEvents"]:
            if event["EventId"] in seen:
                return list(reversed(fresh))
            fresh.append(event)
        if not page.get("NextToken"):
            return list(reversed(fresh))
        kwargs["NextToken"] = page["NextToken"]


def first_failure(events: Iterable[Mapping[str, Any]]) -> str:
    """The first failing resource and its reason, from events in time order."""
    fallback = ""
    for event in events:
        status = event.get("ResourceStatus", "")
        reason = " ".join(str(event.get("ResourceStatusReason", "")).split())
        if not status.endswith("FAILED"):
            continue
        line = f"{event.get('LogicalResourceId')} ({event.get('ResourceType')}): {reason}"
        if reason and not any(reason.startswith(c) for c in _CANCELLED) \
                and event.get("ResourceType") != "AWS::CloudFormation::Stack":
            return line
        fallback = fallback or line
    return fallback or "no failure reason was reported"


def _is_terminal(status: str) -> bool:
    return status.endswith(("_COMPLETE", "_FAILED")) and "CLEANUP" not in status


def watch(cfn: Any, name: str, seen: set[str], total: int, emit: Emit = print,
          poll_s: float = 5.0, sleep: Callable[[float], None] = time.sleep,
          timeout_s: float = 3600) -> tuple[str, list[dict[str, Any]]]:
    """Print stack events until the stack reaches a final state.

    :param total: how many resources are expected to change (for the ``[done/total]`` counter).
    :returns: the final stack status and every event seen on the way.
    """
    done: set[str] = set()
    history: list[dict[str, Any]] = []
    waited = 0.0
    while True:
        for event in _new_events(cfn, name, seen):
            seen.add(event["EventId"])
            history.append(event)
            status = event["ResourceStatus"]
            logical = event["LogicalResourceId"]
            is_stack = event.get("ResourceType") == "AWS::CloudFormation::Stack" \
                and logical == name
            if status.endswith("_COMPLETE") and not is_stack:
                done.add(logical)
            reason = event.get("ResourceStatusReason")
            tail = f"  {reason}" if reason and "FAILED" in status else ""
            emit(f"  [{len(done):>3}/{max(total, len(done))}] {status:<28} "
                 f"{event.get('ResourceType', '')} {logical}{tail}")
            if is_stack and _is_terminal(status):
                return status, history
        if waited >= timeout_s:
            raise DeployError(f"stack {name} did not finish within {timeout_s:.0f} s; "
                              "see the CloudFormation console")
        sleep(poll_s)
        waited += poll_s


def deploy(cfn: Any, name: str, template_url: str, parameters: Mapping[str, str | None],
           emit: Emit = print, poll_s: float = 5.0,
           sleep: Callable[[float], None] = time.sleep, tags: Mapping[str, str] | None = None,
           change_set_name: str | None = None) -> bool:
    """Create and execute a change set, streaming events; ``False`` when nothing changed.

    :raises StackFailed: with the first failing resource's reason.
    """
    status = stack_status(cfn, name)
    if status == "ROLLBACK_COMPLETE":
        raise StackFailed(f"stack {name} failed to create earlier (ROLLBACK_COMPLETE); remove it "
                          f"with `python -m tools.deploy destroy --stack {name}` and deploy again")
    if status and status.endswith("IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise DeployError(f"stack {name} is busy ({status}); wait for it to finish")
    updating = status not in (None, "REVIEW_IN_PROGRESS")
    change_set = change_set_name or f"deploy-{int(time.time())}"
    cfn.create_change_set(
        StackName=name, ChangeSetName=change_set, TemplateURL=template_url,
        ChangeSetType="UPDATE" if updating else "CREATE",
        Parameters=_parameters(parameters, updating), Capabilities=CAPABILITIES,
        Tags=[{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())],
        Description="python -m tools.deploy")
    emit(f"{'updating' if updating else 'creating'} stack {name}: change set {change_set}")
    while True:
        described = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            break
        sleep(poll_s / 2)
    if described["Status"] == "FAILED":
        reason = " ".join(str(described.get("StatusReason", "")).split())
        if any(marker in reason for marker in NO_CHANGES):
            cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
            emit(f"stack {name} is up to date: nothing to change")
            return False
        raise StackFailed(f"change set for {name} failed: {reason}")
    changes = described.get("Changes", [])
    actions: dict[str, int] = {}
    for change in changes:
        action = change.get("ResourceChange", {}).get("Action", "Modify")
        actions[action] = actions.get(action, 0) + 1
    emit("changes: " + ", ".join(f"{n} {a.lower()}" for a, n in sorted(actions.items())))
    seen = {e["EventId"] for e in cfn.describe_stack_events(StackName=name)["StackEvents"]}
    cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
    final, history = watch(cfn, name, seen, len(changes), emit, poll_s, sleep)
    if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise StackFailed(f"stack {name} ended in {final}: {first_failure(history)}")
    emit(f"stack {name}: {final}")
    return True


def empty_bucket(s3: Any, bucket: str, emit: Emit = print) -> int:
    """Delete every object (and version) so CloudFormation can delete the bucket."""
    removed = 0
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket):
            keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                removed += len(keys)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise
    emit(f"emptied s3://{bucket} ({removed} objects)")
    return removed


def destroy(cfn: Any, name: str, emit: Emit = print, poll_s: float = 5.0,
            sleep: Callable[[float], None] = time.sleep) -> bool:
    """Delete the stack and wait; ``False`` when there was none."""
    if stack_status(cfn, name) is None:
        emit(f"stack {name} does not exist: nothing to remove")
        return False
    seen = {e["EventId"] for e in cfn.describe_stack_events(StackName=name)["StackEvents"]}
    cfn.delete_stack(StackName=name)
    emit(f"deleting stack {name}")
    final, history = watch(cfn, name, seen, 0, emit, poll_s, sleep)
    if final != "DELETE_COMPLETE":
        raise StackFailed(f"stack {name} ended in {final}: {first_failure(history)}")
    return True
