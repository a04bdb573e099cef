"""One driver at a time: a lease on the motors (pure; the agent owns the clock).

The first driving command takes the lease for its ``client`` (the page that sent it). Each
command from the holder renews it; it lapses ``lapse_ms`` after the holder's last command, or
at once when the holder's video connection closes. While it is held, another client's
commands move nothing (``busy``) unless they say ``take_over``: then the lease changes hands
at once and the previous holder is told (its next command is refused, and the robot's state
names the new driver). A ``stop`` never takes the lease: any page may stop an idle robot, but
not someone else's drive.

The lease is coordination between signed-in users, not a security boundary: every client
reached the robot through the API's sign-in or the signaling service's admission, and any of
them may take over, visibly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robot_agent.errors import BadCommand


@dataclass
class Holder:
    client: str
    user: str | None
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

    def claim(self, client: str, user: str | None, *, driving: bool, take_over: bool,
              now_ms: int, command_id: str | None = None) -> str | None:
        """Let ``client`` command the motors now, or refuse.

        :param driving: the command moves the motors (``stop`` does not take the lease).
        :returns: ``"granted"``, ``"taken_over"`` (with the previous holder in
            :attr:`previous`), or ``None`` when nothing about the lease changed.
        :raises BadCommand: ``busy``: another client holds the lease; nothing moved.
        """
        holder = self.current(now_ms)
        self.previous = None
        if holder is not None and holder.client == client:
            holder.last_ms = now_ms
            if user:
                holder.user = user
            return None
        if holder is not None and not take_over:
            left_s = (holder.last_ms + self.lapse_ms - now_ms) / 1000
            raise BadCommand("busy", f"{holder.user or holder.client} is driving; take over, or "
                                     f"wait {left_s:.1f} s for the lease to lapse", command_id)
        if not driving and not take_over:
            return None  # stopping an idle robot: allowed, claims nothing
        self.previous = holder
        self.holder = Holder(client, user, now_ms)
        return "taken_over" if holder is not None else "granted"

    def release(self, client: str) -> bool:
        """``client`` left (its video connection closed): its lease ends now."""
        if self.holder is not None and self.holder.client == client:
            self.holder = None
            return True
        return False

    def describe(self, now_ms: int) -> dict[str, Any] | None:
        holder = self.current(now_ms)
        if holder is None:
            return None
        return {"client": holder.client, "user": holder.user,
                "until_ms": holder.last_ms + self.lapse_ms}
