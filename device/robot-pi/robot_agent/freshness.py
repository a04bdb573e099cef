"""Which commands may move the motors: freshness, order and the clock they are judged on.

The sender (the cloud) stamps each command with ``issued_ms`` (its NTP-synced wall clock) and a
``seq`` that only rises (``max(last + 1, issued_ms * 1000)``, see ``cloud.robot.commands``).
A Pi has no battery clock: until NTP syncs (forever where NTP is blocked) its wall clock is
wrong, often by hours; and a sender's clock can be wrong too. The rule (the agent README has it
in prose): **no clock locks the operator out, a replay never moves a motor, stop always stops.**

- the agent keeps an estimate of the **sender's clock** as ``monotonic + offset``. The offset is
  learned from applied commands (the largest ``issued_ms - received`` over the last minute:
  the least delayed one), on the monotonic clock, which never jumps;
- while the kernel says the wall clock is NTP-synchronised, the wall clock is that estimate;
- with no estimate yet (an unsynced robot's first command after start) the first live command
  in order sets it;
- a command is applied when it is within ``max_age_ms`` of the estimate, its ``seq`` is above
  the last applied one, and its ``id`` is not one of the last :data:`REMEMBERED` applied (a
  copy of an applied command is ``replayed``, whatever its stamps say);
- whoever sends now sets the clock: :data:`RELEARN_AFTER` consecutive commands refused on
  time or order alone (``stale``, ``ahead``, ``out_of_order``, or below the floor kept from
  before a restart), with new ids and rising ``seq``, whose ``issued_ms - received`` agree
  within ``max_age_ms``, re-anchor the estimate **and** the order floor on them. So a sender
  (or a poisoner) that was years ahead, an hour ahead or behind costs the operator two
  refused commands, never the robot; one command alone is never adopted;
- persisted (the state directory, across restarts): the last applied ``seq``, ``issued_ms``
  and the last :data:`REMEMBERED` ids, so nothing applied before a restart is applied again.

Independent of any clock: a ``seq`` beyond its own ``issued_ms`` (``seq > (issued_ms +
max_age) * 1000``) cannot come from the sender and is refused; ``stop`` is always honoured and
never moves the floor.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import Protocol

from robot_agent.commands import Command
from robot_agent.errors import BadCommand

log = logging.getLogger("robot_agent.freshness")

RELEARN_AFTER = 3  # consecutive consistent commands that re-anchor the sender's clock
REMEMBERED = 64  # ids of the last applied commands: a copy of one is a replay
WINDOW_MS = 60_000  # offsets are learned from the commands of the last minute
SEQ_PER_MS = 1000  # the sender's seq is issued_ms * 1000 (plus a count within the ms)
STATE_FILE = "last-command.json"


class Clock(Protocol):
    def mono_ms(self) -> int: ...

    def wall_ms(self) -> int: ...

    def synced(self) -> bool: ...


class _Timex(ctypes.Structure):
    # struct timex (Linux, glibc): only `status` is read; the tail is padding.
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long),
                ("status", ctypes.c_int), ("rest", ctypes.c_long * 40)]


TIME_ERROR = 5  # adjtimex(): the clock is not synchronised
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
STA_UNSYNC = 0x0040


class SystemClock:
    """The Pi's clocks; :meth:`synced` asks the kernel (what NTP daemons report to)."""

    def __init__(self) -> None:
        self._adjtimex = None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            self._adjtimex = libc.adjtimex
        except (OSError, AttributeError):  # not Linux/glibc: never trust the wall clock
            pass

    def mono_ms(self) -> int:
        return int(time.monotonic() * 1000)

    def wall_ms(self) -> int:
        return int(time.time() * 1000)

    def synced(self) -> bool:
        if self._adjtimex is not None:
            timex = _Timex()  # modes = 0: read only
            state = self._adjtimex(ctypes.byref(timex))
            if state != -1:
                return state != TIME_ERROR and not timex.status & STA_UNSYNC
        # The unit's ProtectClock= filters adjtimex() even for reading (EPERM); timesyncd
        # then says it with a flag file (chrony has none: the clock is learned instead).
        return TIMESYNCD_FLAG.exists()


class Gate:
    """Decide whether a parsed command may drive.

    :param max_age_ms: the window: a command older than this, or this far ahead, is refused.
    :param clock: the robot's clocks.
    :param state_dir: where the last applied command's ``seq``/``issued_ms`` is kept across
        restarts (``$STATE_DIRECTORY`` under systemd); ``None`` keeps it in memory only.
    """

    def __init__(self, max_age_ms: int, clock: Clock | None = None,
                 state_dir: str | Path | None = None) -> None:
        self.max_age_ms = max_age_ms
        self.clock = clock or SystemClock()
        self.path = Path(state_dir) / STATE_FILE if state_dir else None
        self.last_seq: int | None = None
        self.floor_issued_ms: int | None = None  # restored: nothing issued before may drive
        self.offset_ms: int | None = None  # sender clock - monotonic clock
        self.trust_wall = True  # cleared when the synced wall clock disagrees with the sender
        self._samples: deque[tuple[int, int]] = deque()  # (received mono, issued - mono)
        self._suspects: list[tuple[int, int, str]] = []  # (issued - mono, seq, id) refused
        self._applied_ids: deque[str] = deque(maxlen=REMEMBERED)
        self._restore()

    # -- the sender's clock ------------------------------------------------------------------

    @property
    def source(self) -> str:
        """``wall`` (NTP-synced), ``learned`` (from commands) or ``unset``."""
        if self.trust_wall and self.clock.synced():
            return "wall"
        return "learned" if self.offset_ms is not None else "unset"

    def sender_now(self, mono_ms: int) -> int | None:
        """The sender's clock now, as well as the robot can tell; ``None`` before any anchor."""
        if self.source == "wall":
            return self.clock.wall_ms() - (self.clock.mono_ms() - mono_ms)
        return None if self.offset_ms is None else mono_ms + self.offset_ms

    def describe(self) -> dict[str, object]:
        """For the status: how the window is judged, and how far the wall clock is off."""
        mono = self.clock.mono_ms()
        now = self.sender_now(mono)
        return {"source": self.source, "synced": self.clock.synced(),
                "wall_off_ms": None if now is None else self.clock.wall_ms() - now}

    # -- the gate ----------------------------------------------------------------------------

    def check(self, command: Command, received_mono_ms: int | None = None, *,
              local: bool = False) -> None:
        """:param local: stamped by the robot on arrival (the data channel): fresh by
            construction, so only its order is checked and it teaches nothing about the clock.
        :raises BadCommand: ``ahead``, ``stale``, ``replayed`` or ``out_of_order``.
        """
        if command.action == "stop" or (command.seq is None and command.issued_ms is None):
            return  # stopping is always safe; legacy commands carry no order or age
        assert command.seq is not None and command.issued_ms is not None
        if local:
            self._check_order(command)
            return
        mono = self.clock.mono_ms() if received_mono_ms is None else received_mono_ms
        seq, issued = command.seq, command.issued_ms
        if seq > (issued + self.max_age_ms) * SEQ_PER_MS:
            raise BadCommand("ahead", f"seq {seq} is beyond its own issued_ms {issued}: "
                                      f"not from the command publisher", command.id)
        if command.id in self._applied_ids:
            raise BadCommand("replayed", f"command {command.id} was already applied", command.id)
        now = self.sender_now(mono)
        refusal: BadCommand | None = None
        if now is not None:
            age = now - issued
            if not -self.max_age_ms <= age <= self.max_age_ms:
                refusal = BadCommand("stale" if age > 0 else "ahead",
                                     f"issued {age} ms ago by the {self.source} clock "
                                     f"(window {self.max_age_ms} ms)", command.id)
        try:
            self._check_order(command)
        except BadCommand as order:
            refusal = refusal or order
        if refusal is None:
            self._suspects.clear()
            if now is None:
                self._anchor(issued - mono, "the first command (the clock is not synchronised)")
            return
        if not self._relearn(issued - mono, seq, command.id):
            raise refusal

    def stamp(self, mono_ms: int, wall_ms: int) -> tuple[int, int]:
        """``(seq, issued_ms)`` for a command the robot stamps on arrival: on the sender's
        clock when it is known; before that, the next ``seq`` only, so that a wrong wall clock
        cannot raise the floor above the sender's commands."""
        now = self.sender_now(mono_ms)
        last = self.last_seq or 0
        if now is None:
            return last + 1, wall_ms
        return max(last + 1, now * SEQ_PER_MS), now

    def _check_order(self, command: Command) -> None:
        seq = command.seq
        assert seq is not None and command.issued_ms is not None
        if self.last_seq is not None and seq == self.last_seq:
            raise BadCommand("replayed", f"seq {seq} was already applied", command.id)
        if self.last_seq is not None and seq < self.last_seq:
            raise BadCommand("out_of_order", f"seq {seq} is below the last applied "
                                             f"{self.last_seq}", command.id)
        if self.floor_issued_ms is not None and command.issued_ms <= self.floor_issued_ms:
            raise BadCommand("replayed", "issued before the last command applied before the "
                                         "agent restarted", command.id)

    def _relearn(self, sample: int, seq: int, command_id: str) -> bool:
        """Count a command refused on time or order alone; the RELEARN_AFTER-th consistent one
        re-anchors the clock and the order floor on the sender that sends now."""
        suspects = [*self._suspects, (sample, seq, command_id)][-RELEARN_AFTER:]
        samples = [s for s, _, _ in suspects]
        seqs = [q for _, q, _ in suspects]
        consistent = (max(samples) - min(samples) <= self.max_age_ms
                      and all(a < b for a, b in zip(seqs, seqs[1:], strict=False))
                      and len({i for _, _, i in suspects}) == len(suspects))
        self._suspects = suspects if consistent else [(sample, seq, command_id)]
        if len(self._suspects) < RELEARN_AFTER:
            return False
        why = (f"{RELEARN_AFTER} consistent commands that disagreed with the {self.source} "
               f"clock or the last applied seq {self.last_seq}")
        self._samples.clear()
        self.trust_wall = False  # the wall clock (even "synced") disagreed three times running
        self.last_seq = self.floor_issued_ms = None  # the order starts again from these
        self._anchor(max(samples), why)
        return True

    def _anchor(self, offset_ms: int, why: str) -> None:
        self.offset_ms = offset_ms
        self._suspects.clear()
        wall_off = self.clock.wall_ms() - (self.clock.mono_ms() + offset_ms)
        log.warning("judging command age on the sender's clock learned from %s; the robot's "
                    "wall clock is off by %+.1f s", why, wall_off / 1000)

    def applied(self, command: Command, received_mono_ms: int | None = None, *,
                local: bool = False) -> None:
        """Record an applied command: raise the order floor, refine the clock estimate."""
        if command.action == "stop" or command.seq is None or command.issued_ms is None:
            return
        mono = self.clock.mono_ms() if received_mono_ms is None else received_mono_ms
        self.last_seq = command.seq
        if local:
            return
        self._applied_ids.append(command.id)
        self._samples.append((mono, command.issued_ms - mono))
        while self._samples and self._samples[0][0] < mono - WINDOW_MS:
            self._samples.popleft()
        self.offset_ms = max(s for _, s in self._samples)
        self._save(command)

    # -- across restarts ---------------------------------------------------------------------

    def _restore(self) -> None:
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text())
            self.last_seq, self.floor_issued_ms = int(data["seq"]), int(data["issued_ms"])
            self._applied_ids.extend(str(i) for i in data.get("ids", [])[-REMEMBERED:])
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s (%s); replays of commands from before the restart are "
                        "refused by age only", self.path, exc)

    def _save(self, command: Command) -> None:
        if self.path is None:
            return
        temp = self.path.with_suffix(".tmp")
        try:  # no fsync: it is for restarts of the agent, and an SD card wears
            temp.write_text(json.dumps({"seq": command.seq, "issued_ms": command.issued_ms,
                                        "ids": list(self._applied_ids)}))
            os.replace(temp, self.path)
        except OSError as exc:
            log.warning("cannot keep the last command in %s: %s", self.path, exc)
            self.path = None
