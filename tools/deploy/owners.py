"""Whose robot it is: ``deploy --owner`` and ``revoke``.

Each robot has an owners' group in the user pool, ``robot-<name>`` (``cloud/template.yaml``);
its members may drive it, read its status and watch its video (the group's role may view that
robot's channel only). ``--owner ROBOT=EMAIL`` invites the person (Cognito e-mails them a
temporary password) unless they exist, and adds them to the group.

``revoke`` takes a person's robots away at once: out of the groups (the robot routes read the
groups live, :mod:`cloud.robot.access`), signed out everywhere (their refresh tokens stop
working), and every viewer session of those robots' roles issued until now refused (IAM's
"revoke older sessions": the others sign in again without noticing). Without ``--robot`` the
person is also disabled. A video connection already open between their browser and a robot
lasts until it closes: the media and the drive channel go peer to peer, past AWS.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cloud.robot.access import GROUP_PREFIX, group

Emit = Callable[[str], None]
REVOKE_POLICY = "revoke-older-sessions"


def _user(idp: Any, pool: str, email: str) -> str | None:
    """The username of the person with this e-mail address, or ``None``."""
    found = idp.list_users(UserPoolId=pool, Filter=f'email = "{email}"', Limit=2)["Users"]
    return found[0]["Username"] if found else None


def add_owner(idp: Any, pool: str, robot: str, email: str, emit: Emit = print) -> str:
    """Invite ``email`` unless they exist, and put them in ``robot``'s owners' group."""
    username = _user(idp, pool, email)
    if username is None:
        created = idp.admin_create_user(
            UserPoolId=pool, Username=email, DesiredDeliveryMediums=["EMAIL"],
            UserAttributes=[{"Name": "email", "Value": email},
                            {"Name": "email_verified", "Value": "true"}])
        username = created["User"]["Username"]
        emit(f"invited {email} (Cognito e-mails a temporary password)")
    idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group(robot))
    emit(f"{email} owns robot {robot}")
    return username


def _robot_groups(idp: Any, pool: str, username: str) -> list[str]:
    pages = idp.get_paginator("admin_list_groups_for_user").paginate(UserPoolId=pool,
                                                                     Username=username)
    return [g["GroupName"] for page in pages for g in page["Groups"]
            if g["GroupName"].startswith(GROUP_PREFIX)]


def revoke_policy(now: dt.datetime) -> str:
    """Refuse every session of the role issued before ``now`` (IAM's own recipe)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": now.strftime(
            "%Y-%m-%dT%H:%M:%SZ")}}}]})


def revoke(idp: Any, iam: Any, pool: str, email: str, robots: Sequence[str] | None,
           viewer_roles: Mapping[str, str], emit: Emit = print,
           now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> list[str]:
    """Take ``robots`` (``None``: all, and disable the person) away from ``email`` now.

    :param viewer_roles: robot name -> its viewer role's ARN (the stack's outputs).
    :returns: the robots taken away.
    """
    username = _user(idp, pool, email)
    if username is None:
        raise LookupError(f"no user with e-mail {email} in the user pool")
    owned = [g.removeprefix(GROUP_PREFIX) for g in _robot_groups(idp, pool, username)]
    taken = owned if robots is None else [r for r in robots if r in owned]
    for robot in taken:
        idp.admin_remove_user_from_group(UserPoolId=pool, Username=username,
                                         GroupName=group(robot))
    if robots is None:
        idp.admin_disable_user(UserPoolId=pool, Username=username)
        emit(f"{email} is disabled")
    idp.admin_user_global_sign_out(UserPoolId=pool, Username=username)
    issued_before = now()
    for robot in taken:
        arn = viewer_roles.get(robot)
        if arn:
            iam.put_role_policy(RoleName=arn.rsplit("/", 1)[-1], PolicyName=REVOKE_POLICY,
                                PolicyDocument=revoke_policy(issued_before))
    emit(f"{email} signed out everywhere; no longer owns: {', '.join(taken) or 'no robot'}")
    return taken

