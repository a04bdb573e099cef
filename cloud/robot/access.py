"""Whose robot it is: a signed-in person may drive, and read, only the robots they own.

Each robot has an owners' group named ``robot-<name>`` (the template makes one per robot;
``python -m tools.deploy deploy --owner EMAIL`` puts people in it). The ID token's
``cognito:groups`` claim lists a person's groups as they were at sign-in; API Gateway's Cognito
authorizer checks the token's signature and age, not whether its owner was since removed. So in
AWS the groups are also read live from the user pool (``AdminListGroupsForUser``, kept
:data:`LIVE_TTL_S` per container): a person taken out of a group, or revoked with
``python -m tools.deploy revoke``, is refused within seconds, not when their token expires. The
local stack has no user pool: its gateway is the authority and its claims are taken as they are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from cloud.robot.errors import Forbidden, PublishFailed

GROUP_PREFIX = "robot-"
LIVE_TTL_S = 5.0


def group(robot: str) -> str:
    """The owners' group of ``robot``."""
    return GROUP_PREFIX + robot


def username(claims: Mapping[str, Any]) -> str:
    """Who signed in: Cognito's user name, else the subject; ``""`` for nobody."""
    return str(claims.get("cognito:username") or claims.get("sub") or "")


def token_groups(claims: Mapping[str, Any]) -> frozenset[str]:
    """``cognito:groups`` as API Gateway passes it: a list, ``"a,b"`` (REST APIs) or
    ``"[a b]"`` (HTTP APIs)."""
    value = claims.get("cognito:groups")
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    if not isinstance(value, str):
        return frozenset()
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return frozenset(part for part in text.replace(",", " ").split() if part)


class Directory:
    """Groups read live from the user pool, kept a few seconds per person.

    :param lookup: ``username -> groups`` (the user pool; a seam for tests).
    """

    def __init__(self, lookup: Callable[[str], frozenset[str]],
                 clock: Callable[[], float] = time.monotonic, ttl_s: float = LIVE_TTL_S) -> None:
        self.lookup = lookup
        self.clock = clock
        self.ttl_s = ttl_s
        self._seen: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def groups(self, username: str) -> frozenset[str]:
        now = self.clock()
        with self._lock:
            seen = self._seen.get(username)
        if seen is not None and now - seen[0] < self.ttl_s:
            return seen[1]
        found = self.lookup(username)
        with self._lock:
            self._seen[username] = (now, found)
        return found


def cognito_directory(user_pool_id: str, client: Any = None) -> Directory:
    """A :class:`Directory` over the user pool ``user_pool_id``."""
    state: dict[str, Any] = {"client": client}

    def lookup(username: str) -> frozenset[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        if state["client"] is None:
            import boto3  # only in AWS

            state["client"] = boto3.client("cognito-idp")
        try:
            pages = state["client"].get_paginator("admin_list_groups_for_user").paginate(
                UserPoolId=user_pool_id, Username=username)
            return frozenset(g["GroupName"] for page in pages for g in page.get("Groups", []))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "UserNotFoundException":
                return frozenset()
            raise PublishFailed("who may use this robot cannot be checked now; try again") \
                from None
        except BotoCoreError:
            raise PublishFailed("who may use this robot cannot be checked now; try again") \
                from None

    return Directory(lookup)


def require(claims: Mapping[str, Any], robot: str, directory: Directory | None) -> None:
    """Refuse (403) a person who does not own ``robot``.

    :param claims: the Cognito claims API Gateway put in the request.
    :param directory: the user pool's live groups; ``None`` trusts the token's claims.
    :raises Forbidden: naming the robot and how to be allowed it.
    """
    groups = token_groups(claims)
    if directory is not None:
        user = username(claims)
        groups = directory.groups(user) if user else frozenset()
    if group(robot) not in groups:
        raise Forbidden(f"you may not use robot {robot[:64]!r}: its owner adds you with "
                        f"`python -m tools.deploy deploy ... --owner {robot[:64]}=YOUR_EMAIL`")
