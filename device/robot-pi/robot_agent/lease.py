"""One driver at a time: a lease on the motors (pure; the agent owns the clock).

Who a command speaks for comes from the path it took, never from its body: a command from the
API carries the signed-in user the API stamped (the page's ``client`` id only tells that user's
tabs apart); a command on a viewer's drive data channel speaks for the person the signaling
service signed that viewer in as, with the viewer's ClientId as ``client`` (the local relay
names the person; KVS names the ClientId alone, and such a viewer is a driver of its own).
A page uses its ClientId as its ``client`` on both paths, so where its person is known it is
one driver on its channel and over HTTP. A user who sends another driver's ``client`` id over
HTTP is still someone else.

The first driving command takes the lease for its driver. Each driving command from the holder
renews it; it lapses ``lapse_ms`` after the holder's last one, or at once when the holder's
connection closes. While it is held, another driver's drive commands move nothing (``busy``)
unless they say ``take_over``: then the lease changes hands at once and the previous holder is
told (its next command is refused, and the robot's state names the new driver).

``stop`` is nobody's to refuse: any signed-in viewer may stop the robot, driver or not, and the
robot says who did. A stop neither takes nor renews the lease, so nobody can hold it with stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robot_agent.errors import BadCommand


def identity(client: str, user: str | None, *, channel: bool = False) -> str:
    """The key the lease compares for ``client`` signed in as ``user`` (see :class:`Driver`)."""
    if channel and not user:
        return f"viewer:{client}"
    return f"user:{user or ''}:{client}"


@dataclass(frozen=True)
class Driver:
    """Who a command speaks for.

    :param key: the identity the lease compares: ``user:{user}:{client}`` from the API and
        from a data channel whose person the signaling service named, ``viewer:{id}`` from one
        it did not.
    :param client: the page's or viewer's id (what the page compares with its own).
    :param user: the signed-in user (the API's, or the signaling service's); ``None`` for an
        unnamed viewer.
    :param name: a name to show (the user's display name), when known.
    """

    key: str
    client: str
    user: str | None = None
    name: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"client": self.client, "user": self.user,
                "name": self.name or self.user or self.client}


@dataclass
class Holder:
    driver: Driver
    last_ms: int


class DriverLease:
    """:param lapse_ms: how long after its last command the holder keeps the lease."""

    def __init__(self, lapse_ms: int) -> None:
        self.lapse_ms = lapse_ms
        self.holder: Holder | None = None
        self.previous: Holder | None = None  # whom the last take-over replaced

    def current(self, now_ms: int) -> Holder | None:
        """The live holder, forgetting one whose lease lapsed."""
        if self.holder is not None and now_ms - self.holder.last_ms >= self.lapse_ms:
            self.holder = None
        return self.holder

    def holds(self, key: str, now_ms: int) -> bool:
        holder = self.current(now_ms)
        return holder is not None and holder.driver.key == key

    def claim(self, driver: Driver, *, driving: bool, take_over: bool, now_ms: int,
              command_id: str | None = None) -> str | None:
        """Let ``driver`` command the motors now, or refuse.

        :param driving: the command moves the motors (``stop`` is always let through and
            claims nothing, unless it says ``take_over``).
        :returns: ``"granted"``, ``"taken_over"`` (with the previous holder in
            :attr:`previous`), or ``None`` when nothing about the lease changed.
        :raises BadCommand: ``busy``: another driver holds the lease; nothing moved.
        """
        holder = self.current(now_ms)
        self.previous = None
        if not driving and not take_over:
            return None  # a stop: anyone's, and it holds nothing
        if holder is not None and holder.driver.key == driver.key:
            holder.last_ms = now_ms
            if driver.name or not holder.driver.name:  # a channel's command carries no name
                holder.driver = driver  # the same identity; its name may have been learned
            return None
        if holder is not None and not take_over:
            left_s = (holder.last_ms + self.lapse_ms - now_ms) / 1000
            who = holder.driver.describe()["name"]
            raise BadCommand("busy", f"{who} is driving; take over, or wait {left_s:.1f} s for "
                                     f"the lease to lapse", command_id)
        self.previous = holder
        self.holder = Holder(driver, now_ms)
        return "taken_over" if holder is not None else "granted"

    def release(self, key: str) -> bool:
        """The driver ``key`` left (its connection closed): its lease ends now."""
        if self.holder is not None and self.holder.driver.key == key:
            self.holder = None
            return True
        return False

    def describe(self, now_ms: int) -> dict[str, Any] | None:
        holder = self.current(now_ms)
        if holder is None:
            return None
        return {**holder.driver.describe(), "until_ms": holder.last_ms + self.lapse_ms}
