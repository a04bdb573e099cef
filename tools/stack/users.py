"""The local stack's people: a sign-in token each, and the robots each owns.

The local stand-in for Cognito's users and their ``robot-<name>`` groups
(:mod:`cloud.robot.access`). ``local`` signs in with ``ROBOT_API_TOKEN`` and owns every robot.
``STACK_USERS="bob=rover-2;carol=sts-pi,rover-2"`` adds people, each with a token made once
and kept in the data directory's credentials file, printed at start. The gateway turns a
person's token into the claims the Cognito authorizer would pass (``cognito:groups``
included), and the signaling relay lets a person watch only the robots they own.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloud.robot.access import group

DEFAULT_USER = "local"
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class UsersError(ValueError):
    """``STACK_USERS`` is malformed; the message names the part."""


@dataclass(frozen=True)
class LocalUser:
    name: str
    token: str
    robots: tuple[str, ...]

    def claims(self) -> dict[str, str]:
        """What the Cognito authorizer would pass for this person (a REST API's string form)."""
        return {"sub": self.name, "cognito:username": self.name, "token_use": "id",
                "cognito:groups": ",".join(group(r) for r in self.robots)}


def parse(spec: str, robots: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``"bob=rover-2;carol=sts-pi,rover-2"`` -> ``{"bob": ("rover-2",), ...}``.

    :raises UsersError: a part without ``=``, a bad name, or a robot that is not in ``robots``.
    """
    found: dict[str, tuple[str, ...]] = {}
    for part in (p.strip() for p in spec.split(";") if p.strip()):
        name, sep, listed = part.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name) or name == DEFAULT_USER or name in found:
            raise UsersError(f"STACK_USERS: {part!r} is not NAME=ROBOT[,ROBOT] with a new name "
                             f"of letters, digits and ._@- (not {DEFAULT_USER!r})")
        owned = tuple(r.strip() for r in listed.split(",") if r.strip())
        unknown = [r for r in owned if r not in robots]
        if unknown:
            raise UsersError(f"STACK_USERS: {name} owns {unknown[0]!r}, which is not one of the "
                             f"stack's robots ({', '.join(robots)}; ROBOT_NAMES sets them)")
        found[name] = owned
    return found


class Users:
    """Everyone who may sign in, found by token in constant time per person."""

    def __init__(self, users: Iterable[LocalUser]) -> None:
        self.users = tuple(users)

    def by_token(self, token: str) -> LocalUser | None:
        found = None
        for user in self.users:  # compare with every one: the time says nothing of the match
            if hmac.compare_digest(token.encode(), user.token.encode()):
                found = user
        return found

    def may_watch(self, token: str, robot: str) -> bool:
        user = self.by_token(token)
        return user is not None and robot in user.robots

    def extra(self) -> list[LocalUser]:
        return [u for u in self.users if u.name != DEFAULT_USER]


def load(default_token: str, robots: Sequence[str], spec: str,
         kept: Mapping[str, Any] | None) -> Users:
    """The default person and those ``spec`` names, reusing the tokens in ``kept``."""
    people = [LocalUser(DEFAULT_USER, default_token, tuple(robots))]
    for name, owned in parse(spec, robots).items():
        token = (kept or {}).get(name)
        people.append(LocalUser(name, token if isinstance(token, str) and token
                                else secrets.token_urlsafe(18), owned))
    return Users(people)
