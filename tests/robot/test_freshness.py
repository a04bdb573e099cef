"""Freshness, order and the clock they are judged on (pure, with a hand-set clock).

The sender is the reference: it stamps ``issued_ms`` with a synced clock and ``seq`` as
``issued_ms * 1000``. The robot's wall clock is wrong by whatever a test says.
"""

from __future__ import annotations

import pytest
from robot_agent.commands import Command
from robot_agent.errors import BadCommand
from robot_agent.freshness import RELEARN_AFTER, Gate

HOUR = 3_600_000
T0 = 1_767_225_600_000  # the sender's clock at the start of each test


class HandClock:
    """Monotonic and wall clocks that move only when told; ``off`` is the wall clock's error."""

    def __init__(self, off: int = 0, synced: bool = True) -> None:
        self.mono = 5_000
        self.sender = T0
        self.off = off
        self.is_synced = synced

    def tick(self, ms: int) -> None:
        self.mono += ms
        self.sender += ms

    def mono_ms(self) -> int:
        return self.mono

    def wall_ms(self) -> int:
        return self.sender + self.off

    def synced(self) -> bool:
        return self.is_synced


class Sender:
    """The cloud's side: commands stamped with its own (correct) clock."""

    def __init__(self, clock: HandClock) -> None:
        self.clock = clock
        self.n = 0

    def __call__(self, action: str = "forward", age: int = 0, seq: int | None = None) -> Command:
        self.n += 1
        issued = self.clock.sender - age  # age: how long it was held up before arriving
        if seq is None:  # as cloud.robot.commands.Sequencer: the issue time, then a count
            seq = issued * 1000 + self.n
        return Command(id=f"c{self.n}", action=action, speed=0.5, duration_ms=250, seq=seq,
                       issued_ms=issued)


def admit(gate: Gate, command: Command) -> str:
    """``"ok"`` if the gate lets it drive (and records it), else the refusal reason."""
    try:
        gate.check(command)
    except BadCommand as exc:
        return exc.reason
    gate.applied(command)
    return "ok"


def setup(off: int = 0, synced: bool = True, **kwargs) -> tuple[HandClock, Sender, Gate]:
    clock = HandClock(off, synced)
    return clock, Sender(clock), Gate(1000, clock, **kwargs)


def test_synced_clock_judges_age_both_ways():
    clock, send, gate = setup()
    assert admit(gate, send()) == "ok"
    clock.tick(3000)  # held up for 900 ms, 1500 ms: issued after the last applied one still
    assert [admit(gate, send(age=a)) for a in (1500, 900, -1500)] == ["stale", "ok", "ahead"]
    assert gate.source == "wall"


def test_replayed_and_out_of_order_never_pass():
    clock, send, gate = setup()
    first, second = send(), send()
    assert admit(gate, second) == "ok"
    assert admit(gate, second) == "replayed"
    assert admit(gate, first) == "out_of_order"


@pytest.mark.parametrize("off", [HOUR, -HOUR])
def test_unsynced_clock_off_by_an_hour_learns_the_senders_clock(off):
    clock, send, gate = setup(off, synced=False)
    assert gate.source == "unset"
    assert admit(gate, send()) == "ok"  # the first live command anchors the window
    assert gate.source == "learned"
    assert gate.describe()["wall_off_ms"] == off
    for _ in range(5):
        clock.tick(300)
        assert admit(gate, send()) == "ok"
    clock.tick(6000)
    assert admit(gate, send(age=5000)) == "stale"
    assert admit(gate, send(age=-5000)) == "ahead"
    assert admit(gate, send()) == "ok"


def test_wall_clock_jump_while_unsynced_changes_nothing():
    clock, send, gate = setup(synced=False)
    assert admit(gate, send()) == "ok"
    clock.off = HOUR  # someone ran `date -s`: the kernel marks the clock unsynced
    clock.tick(200)
    assert admit(gate, send()) == "ok"
    clock.tick(4000)
    assert admit(gate, send(age=3000)) == "stale"


def test_wall_clock_jump_while_synced_is_relearned_after_three_commands():
    clock, send, gate = setup()
    assert admit(gate, send()) == "ok"
    clock.off = -HOUR  # the kernel still says synced, but the clock is an hour behind
    results = []
    for _ in range(RELEARN_AFTER + 2):
        clock.tick(150)
        results.append(admit(gate, send()))
    assert results == ["ahead"] * (RELEARN_AFTER - 1) + ["ok", "ok", "ok"]
    assert gate.source == "learned"
    clock.tick(5000)
    assert admit(gate, send(age=4000)) == "stale"  # and stale commands still never pass


def test_a_huge_seq_is_refused_and_locks_nobody_out():
    clock, send, gate = setup()
    assert admit(gate, send()) == "ok"
    assert admit(gate, send(seq=2 ** 62)) == "ahead"
    assert gate.last_seq is not None and gate.last_seq < 2 ** 62
    clock.tick(50)
    assert admit(gate, send()) == "ok"


def test_a_far_future_command_is_not_adopted():
    clock, send, gate = setup(off=HOUR, synced=False)
    assert admit(gate, send()) == "ok"
    clock.tick(100)
    assert admit(gate, send(age=-10 * HOUR)) == "ahead"  # seq matches its issued_ms: still no
    clock.tick(100)
    assert admit(gate, send()) == "ok"


def test_stop_is_always_honoured_and_moves_no_floor():
    clock, send, gate = setup()
    assert admit(gate, send()) == "ok"
    floor = gate.last_seq
    for stop in (send("stop", age=10 * HOUR), send("stop", seq=2 ** 62), send("stop", age=-HOUR)):
        assert admit(gate, stop) == "ok"
    assert gate.last_seq == floor
    clock.tick(50)
    assert admit(gate, send()) == "ok"


def test_relearning_needs_consistent_rising_commands():
    clock, send, gate = setup()
    assert admit(gate, send()) == "ok"
    clock.tick(4 * HOUR)
    # Three refused, but from different eras: no anchor is adopted.
    assert [admit(gate, send(age=a)) for a in (3 * HOUR, 2 * HOUR, HOUR)] == ["stale"] * 3
    # Three consistent ones whose seq does not rise (one message, replayed): not either.
    stale = send(age=HOUR)
    assert [admit(gate, stale) for _ in range(3)] == ["stale"] * 3
    assert gate.source == "wall"


def test_replays_from_before_a_restart_are_refused(tmp_path):
    clock, send, gate = setup(synced=False, state_dir=tmp_path)
    first = send()
    assert admit(gate, first) == "ok"
    clock.tick(100)
    last = send()
    assert admit(gate, last) == "ok"
    # The agent restarts with its clock still unsynced: no window yet, but a floor.
    clock.tick(10_000)
    gate = Gate(1000, clock, tmp_path)
    assert admit(gate, last) == "replayed"
    assert admit(gate, first) == "replayed"  # its id is remembered too
    assert admit(gate, send()) == "ok"


YEAR = 365 * 24 * HOUR


class Poisoner(Sender):
    """Someone on the command topic whose commands are dated ``ahead`` ms in the future, with
    ``seq`` to match (so the huge-seq check cannot tell)."""

    def __init__(self, clock: HandClock, ahead: int) -> None:
        super().__init__(clock)
        self.ahead = ahead

    def __call__(self, action: str = "forward", age: int = 0, seq: int | None = None) -> Command:
        command = super().__call__(action, age - self.ahead, seq)
        return Command(id=f"p{self.n}", action=action, speed=1.0, duration_ms=1000,
                       seq=command.seq, issued_ms=command.issued_ms)


def drive_until_ok(clock: HandClock, gate: Gate, send: Sender, most: int) -> list[str]:
    """What the gate answers to the operator's held key (a command every 100 ms), up to the
    first one applied."""
    answers: list[str] = []
    while len(answers) < most and "ok" not in answers:
        clock.tick(100)
        answers.append(admit(gate, send()))
    return answers


@pytest.mark.parametrize("ahead", [5 * YEAR, HOUR, -HOUR])
@pytest.mark.parametrize("synced", [True, False])
def test_three_poisoned_commands_lock_nobody_out(tmp_path, ahead, synced):
    """Three consistent commands dated years ahead re-anchored the clock and the persisted
    floor: every later command was refused (stale, then out_of_order after a restart)."""
    clock, send, gate = setup(synced=synced, state_dir=tmp_path)
    assert admit(gate, send()) == "ok"
    poison = Poisoner(clock, ahead)
    clock.tick(100)
    poisoned = [admit(gate, poison()) for _ in range(RELEARN_AFTER)]
    assert poisoned[:-1] == ["stale" if ahead < 0 else "ahead"] * (RELEARN_AFTER - 1)
    stop = send("stop")
    assert admit(gate, stop) == "ok"  # stop always stops, whoever set the clock
    assert drive_until_ok(clock, gate, send, RELEARN_AFTER) == (
        ["stale" if ahead > 0 else "ahead"] * (RELEARN_AFTER - 1) + ["ok"])
    # The poisoned floor was persisted: a restart (and a new boot's clock) still recovers.
    clock.tick(10 * HOUR)
    gate = Gate(1000, clock, tmp_path)
    assert len(drive_until_ok(clock, gate, send, RELEARN_AFTER)) <= RELEARN_AFTER
    assert admit(gate, send()) == "ok"


def test_a_sender_clock_an_hour_ahead_once_blocks_nobody_after_it_is_corrected(tmp_path):
    """It blocked the robot for that hour, across restarts."""
    clock, send, gate = setup(state_dir=tmp_path)
    wrong = Poisoner(clock, HOUR)  # the cloud's clock, an hour ahead for a while
    assert drive_until_ok(clock, gate, wrong, RELEARN_AFTER)[-1] == "ok"
    for _ in range(5):
        clock.tick(100)
        assert admit(gate, wrong()) == "ok"
    gate = Gate(1000, clock, tmp_path)  # the agent restarts; then the sender is corrected
    assert drive_until_ok(clock, gate, send, RELEARN_AFTER)[-1] == "ok"


def test_no_replay_moves_a_motor_across_re_anchoring(tmp_path):
    clock, send, gate = setup(state_dir=tmp_path)
    early = [send() for _ in range(4)]
    for command in early:
        clock.tick(100)
        assert admit(gate, command) == "ok"
    poison = Poisoner(clock, 5 * YEAR)
    poisoned = [poison() for _ in range(RELEARN_AFTER)]
    assert [admit(gate, c) for c in poisoned][-1] == "ok"
    assert drive_until_ok(clock, gate, send, RELEARN_AFTER)[-1] == "ok"
    # Copies of what was sent (the operator's early commands, the poison), each batch in order
    # and consistent: refused, and they teach the clock nothing.
    for replay in (early[1:], poisoned, early[1:]):
        assert "ok" not in {admit(gate, c) for c in replay}
    clock.tick(100)
    assert admit(gate, send()) == "ok"
    gate = Gate(1000, clock, tmp_path)  # and after a restart
    assert "ok" not in {admit(gate, c) for c in early[1:] + poisoned}
    assert drive_until_ok(clock, gate, send, RELEARN_AFTER)[-1] == "ok"


def test_an_unreadable_state_file_is_ignored(tmp_path):
    (tmp_path / "last-command.json").write_text("{not json")
    clock, send, gate = setup(state_dir=tmp_path)
    assert admit(gate, send()) == "ok"


def test_legacy_commands_carry_no_order():
    clock, send, gate = setup()
    legacy = Command(id="legacy-1", action="forward", speed=1.0, duration_ms=200)
    assert admit(gate, legacy) == "ok" and admit(gate, legacy) == "ok"


def test_the_kernel_says_whether_the_clock_is_synchronised(tmp_path, monkeypatch):
    from robot_agent import freshness

    clock = freshness.SystemClock()
    assert isinstance(clock.synced(), bool)  # adjtimex() on this machine
    # Under the unit, ProtectClock= makes adjtimex() fail with EPERM: timesyncd's flag decides.
    monkeypatch.setattr(clock, "_adjtimex", lambda timex: -1)
    flag = tmp_path / "synchronized"
    monkeypatch.setattr(freshness, "TIMESYNCD_FLAG", flag)
    assert clock.synced() is False
    flag.touch()
    assert clock.synced() is True
    monkeypatch.setattr(clock, "_adjtimex", lambda timex: freshness.TIME_ERROR)
    assert clock.synced() is False  # the kernel's own answer wins when it can be read
