"""CloudFormation: the artifact bucket, uploads, change sets, streamed events, outputs.

Every function takes the boto3 clients it needs, so tests hand in moto clients or clients with a
botocore ``Stubber`` attached. ``emit`` receives each progress line (``print`` by default).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from tools.deploy.build import Artifact
from tools.deploy.errors import DeployError, StackFailed

Emit = Callable[[str], None]
#: CloudFormation may create IAM roles and inline policies, none with a fixed name (which would
#: need CAPABILITY_NAMED_IAM); AUTO_EXPAND for the SAM and LanguageExtensions transforms.
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
NAMED_IAM = ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
#: IAM resource types and the property that would give each a fixed name.
_IAM_NAMES = {"AWS::IAM::Role": "RoleName", "AWS::IAM::User": "UserName",
              "AWS::IAM::Group": "GroupName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
              "AWS::IAM::InstanceProfile": "InstanceProfileName"}
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "no changes")
_CANCELLED = ("Resource creation cancelled", "Resource update cancelled",
              "Resource deletion cancelled")
#: The tag every stack of this project carries; ``destroy`` refuses a stack without it.
PROJECT_TAG = ("project", "mars-robot")


class BucketNotOurs(DeployError, PermissionError):
    """The artifact bucket's name is taken by another account (or we may not see it)."""


def capabilities(template: Mapping[str, Any]) -> list[str]:
    """The least capabilities the (expanded) template needs: named IAM only if it names any."""
    for resource in template.get("Resources", {}).values():
        if not isinstance(resource, dict):
            continue
        prop = _IAM_NAMES.get(resource.get("Type", ""))
        if prop and prop in resource.get("Properties", {}):
            return list(NAMED_IAM)
    return list(CAPABILITIES)


def new_artifact_bucket_name(stack: str) -> str:
    """A bucket name nobody can guess before we create it (bucket names are global)."""
    return f"{stack.lower()[:34].rstrip('-')}-artifacts-{secrets.token_hex(8)}"


def _not_ours(bucket: str, account: str) -> BucketNotOurs:
    return BucketNotOurs(
        f"s3://{bucket} exists but does not belong to account {account}; refusing to put code "
        "there that CloudFormation would run. Remove the artifact bucket entry from the deploy "
        "state file (out/deploy/<stack>/state.json) to pick a new unguessable name")


def ensure_bucket(s3: Any, bucket: str, region: str, account: str, emit: Emit = print) -> None:
    """Create the private, encrypted artifact bucket unless this account already owns it.

    :raises BucketNotOurs: the name exists in another account.
    """
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
        return
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("403", "AccessDenied", "Forbidden"):
            raise _not_ours(bucket, account) from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
    emit(f"creating artifact bucket s3://{bucket}")
    kwargs: dict[str, Any] = {"Bucket": bucket, "ObjectOwnership": "BucketOwnerEnforced"}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "BucketAlreadyExists":
            raise _not_ours(bucket, account) from None
        if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    owner = {"ExpectedBucketOwner": account}
    s3.head_bucket(Bucket=bucket, **owner)  # a race lost to another account stops here
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True}, **owner)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}, **owner)
    # old artifacts stay long enough for a rollback, then go
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "expire-old-artifacts", "Status": "Enabled", "Filter": {"Prefix": ""},
         "Expiration": {"Days": 90}}]}, **owner)


def _exists(s3: Any, bucket: str, key: str, account: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=account)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def upload_artifacts(s3: Any, bucket: str, prefix: str, artifacts: Iterable[Artifact],
                     account: str, emit: Emit = print) -> dict[str, tuple[str, str]]:
    """Upload each artifact under its content hash, skipping those already there.

    :returns: ``{template path: (bucket, key)}`` for :func:`tools.deploy.template.package`.
    """
    locations = {}
    for artifact in artifacts:
        key = f"{prefix}/{artifact.key}"
        if _exists(s3, bucket, key, account):
            emit(f"unchanged {artifact.name} ({artifact.size / 2**20:.1f} MB)")
        else:
            emit(f"uploading {artifact.name} ({artifact.size / 2**20:.1f} MB)")
            s3.upload_file(str(artifact.path), bucket, key,
                           ExtraArgs={"ExpectedBucketOwner": account})
        locations[artifact.name] = (bucket, key)
    return locations


def upload_template(s3: Any, bucket: str, prefix: str, body: str, region: str,
                    account: str) -> str:
    """Store the packaged template (it outgrows the 51,200-byte inline limit) and return its URL."""
    key = f"{prefix}/template-{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"
    if not _exists(s3, bucket, key, account):
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode(),
                      ContentType="application/json", ExpectedBucketOwner=account)
    host = "s3.amazonaws.com" if region == "us-east-1" else f"s3.{region}.amazonaws.com"
    return f"https://{bucket}.{host}/{key}"


def stack_status(cfn: Any, name: str) -> str | None:
    """The stack's status, or ``None`` when there is no such stack."""
    described = describe(cfn, name)
    return described["StackStatus"] if described else None


def outputs(cfn: Any, name: str) -> dict[str, str]:
    """The stack's outputs as ``{key: value}``."""
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _parameters(values: Mapping[str, str | None], updating: bool) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
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
          timeout_s: float = 3600,
          clock: Callable[[], float] = time.monotonic) -> tuple[str, list[dict[str, Any]]]:
    """Print stack events until the stack reaches a final state, or *timeout_s* of wall time.

    :param total: how many resources are expected to change (for the ``[done/total]`` counter).
    :returns: the final stack status and every event seen on the way.
    """
    done: set[str] = set()
    history: list[dict[str, Any]] = []
    started = clock()
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
            emit(f"  [{len(done):>3}/{max(total, len(done))}] {clock() - started:5.0f}s "
                 f"{status:<28} {event.get('ResourceType', '')} {logical}{tail}")
            if is_stack and _is_terminal(status):
                return status, history
        if clock() - started >= timeout_s:
            raise DeployError(f"stack {name} did not finish within {timeout_s:.0f} s; "
                              "see the CloudFormation console")
        sleep(poll_s)


class Declined(DeployError):
    """The person said no at a confirmation; nothing was changed."""


Confirm = Callable[[str], bool]


def _changes(cfn: Any, name: str, change_set: str, first: Mapping[str, Any]) -> list[dict]:
    changes = list(first.get("Changes", []))
    token = first.get("NextToken")
    while token:
        page = cfn.describe_change_set(StackName=name, ChangeSetName=change_set,
                                       NextToken=token)
        changes += page.get("Changes", [])
        token = page.get("NextToken")
    return [c.get("ResourceChange", {}) for c in changes]


def change_summary(changes: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per resource change, replacements flagged, then the totals."""
    lines = []
    actions: dict[str, int] = {}
    for change in changes:
        action = change.get("Action", "Modify")
        actions[action] = actions.get(action, 0) + 1
        flag = "  (replacement)" if change.get("Replacement") == "True" else \
            "  (may be replaced)" if change.get("Replacement") == "Conditional" else ""
        lines.append(f"  {action:<7} {change.get('ResourceType', ''):<40} "
                     f"{change.get('LogicalResourceId', '')}{flag}")
    lines.append("changes: " + ", ".join(f"{n} {a.lower()}" for a, n in sorted(actions.items())))
    return lines


def _wait_for_change_set(cfn: Any, name: str, change_set: str, poll_s: float) -> dict:
    waiter = cfn.get_waiter("change_set_create_complete")
    try:
        waiter.wait(StackName=name, ChangeSetName=change_set,
                    WaiterConfig={"Delay": max(0, round(poll_s)), "MaxAttempts": 120})
    except WaiterError as exc:
        last = exc.last_response or {}
        if last.get("Status") == "FAILED":
            return dict(last)
        reason = last.get("Error", {}).get("Message") or str(exc)
        raise StackFailed(f"change set for {name} did not complete: {reason}") from None
    return cfn.describe_change_set(StackName=name, ChangeSetName=change_set)


def deploy(cfn: Any, name: str, template_url: str, parameters: Mapping[str, str | None],
           emit: Emit = print, poll_s: float = 5.0,
           sleep: Callable[[float], None] = time.sleep, tags: Mapping[str, str] | None = None,
           change_set_name: str | None = None, capabilities: Sequence[str] = CAPABILITIES,
           confirm: Confirm | None = None,
           before_execute: Callable[[], None] | None = None) -> bool:
    """Create a change set, show it, and execute it once *confirm* agrees, streaming events.

    :param confirm: asked with the question; ``None`` executes without asking (``--yes``).
    :param before_execute: runs once the change set is agreed, before it executes (the deploy
        releases removed robots' certificates there: a thing with one attached cannot go).
    :returns: ``False`` when nothing changed.
    :raises Declined: the change set was shown and refused (and deleted).
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
        Parameters=_parameters(parameters, updating), Capabilities=list(capabilities),
        Tags=[{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())],
        Description="python -m tools.deploy")
    emit(f"{'updating' if updating else 'creating'} stack {name}: change set {change_set} "
         f"({', '.join(capabilities)})")
    described = _wait_for_change_set(cfn, name, change_set, poll_s / 2)
    if described["Status"] == "FAILED":
        reason = " ".join(str(described.get("StatusReason", "")).split())
        if any(marker in reason for marker in NO_CHANGES):
            cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
            emit(f"stack {name} is up to date: nothing to change")
            return False
        raise StackFailed(f"change set for {name} failed: {reason}")
    changes = _changes(cfn, name, change_set, described)
    for line in change_summary(changes):
        emit(line)
    if confirm is not None and not confirm(f"execute this change set on stack {name}?"):
        cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
        if not updating:  # the empty stack a CREATE change set leaves in REVIEW_IN_PROGRESS
            cfn.delete_stack(StackName=name)
        raise Declined(f"change set not executed; stack {name} was not changed")
    if before_execute is not None:
        before_execute()
    seen = {e["EventId"] for e in cfn.describe_stack_events(StackName=name)["StackEvents"]}
    cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
    final, history = watch(cfn, name, seen, len(changes), emit, poll_s, sleep)
    if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise StackFailed(f"stack {name} ended in {final}: {first_failure(history)}")
    emit(f"stack {name}: {final}")
    return True


def empty_bucket(s3: Any, bucket: str, account: str, emit: Emit = print) -> int:
    """Delete every object (and version) so CloudFormation can delete the bucket."""
    removed = 0
    owner = {"ExpectedBucketOwner": account}
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, **owner):
            keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True},
                                  **owner)
                removed += len(keys)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise
    emit(f"emptied s3://{bucket} ({removed} objects)")
    return removed


def describe(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack's description, or ``None`` when there is no such stack."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in exc.response["Error"].get("Message", ""):
            return None
        raise
    return stacks[0] if stacks else None


def resources(cfn: Any, name: str) -> list[dict[str, Any]]:
    """Every resource of the stack (``LogicalResourceId``, ``PhysicalResourceId``, type)."""
    found: list[dict[str, Any]] = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name):
        found += page.get("StackResourceSummaries", [])
    return found


def check_ours(stack: Mapping[str, Any]) -> None:
    """:raises DeployError: the stack was not made by this project's deploy tool."""
    tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
    key, value = PROJECT_TAG
    if tags.get(key) != value:
        raise DeployError(f"stack {stack['StackName']} has no tag {key}={value}: it was not "
                          "deployed by this tool; refusing to touch it")


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
