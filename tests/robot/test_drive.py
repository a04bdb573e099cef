"""Motors on mock pins: every preset, action, speed and invert; opposing pins never both on."""

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin
from hypothesis import given, settings
from hypothesis import strategies as st
from robot_agent.commands import values
from robot_agent.config import MotorConfig, Pins
from robot_agent.drive import Drive, mock_factory


def make(driver="explorer-hat", **kwargs):
    factory = mock_factory()
    return Drive(MotorConfig(driver=driver, **kwargs), factory), factory


def duty(factory, pin):
    return float(factory.pin(pin).state)


@pytest.mark.parametrize("invert", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("speed", [0.0, 0.25, 1.0])
@pytest.mark.parametrize("action", ["forward", "backward", "left", "right", "stop"])
def test_explorer_hat_pins(action, speed, invert):
    drive, factory = make(invert_left=invert[0], invert_right=invert[1])
    left, right = values(action, speed)
    drive.set(left, right)
    for value, inverted, (fwd, back) in ((left, invert[0], (20, 19)),
                                         (right, invert[1], (26, 21))):
        physical = -value if inverted else value
        assert duty(factory, fwd) == pytest.approx(max(physical, 0.0))
        assert duty(factory, back) == pytest.approx(max(-physical, 0.0))
    drive.close()


@pytest.mark.parametrize(("driver", "pins"), [
    ("ryanteck", {17: 0.5, 18: 0, 22: 0, 23: 0.5}),
    ("camjam", {9: 0.5, 10: 0, 7: 0, 8: 0.5}),
])
def test_other_presets_turn_right(driver, pins):
    drive, factory = make(driver)
    drive.set(*values("right", 0.5))
    assert {p: duty(factory, p) for p in pins} == pytest.approx(pins)
    drive.close()


@pytest.mark.parametrize(("driver", "pins"), [
    ("explorer-hat", [19, 20, 21, 26]), ("ryanteck", [17, 18, 22, 23]),
    ("camjam", [7, 8, 9, 10]), ("pololu-drv8835", [5, 6, 12, 13])])
def test_each_preset_reports_its_bcm_pins(driver, pins):
    # gpiozero's board classes name physical pins (BOARD11): the status reports BCM numbers.
    drive, factory = make(driver)
    assert drive.pins == pins and set(drive.pin_states()) == {str(p) for p in pins}
    drive.close()


def test_pololu_phase_enable():
    drive, factory = make("pololu-drv8835")
    drive.set(*values("left", 0.6))  # left backwards: phase 1, enable = duty
    assert (duty(factory, 5), duty(factory, 12)) == pytest.approx((1.0, 0.6))
    assert (duty(factory, 6), duty(factory, 13)) == pytest.approx((0.0, 0.6))
    drive.stop()
    assert duty(factory, 12) == duty(factory, 13) == 0.0
    drive.close()


def test_custom_pins_and_max_speed():
    drive, factory = make("custom", left=Pins(forward=4, backward=5),
                          right=Pins(phase=6, enable=13), max_speed=0.5)
    assert drive.set(1.0, -1.0) == (0.5, -0.5)
    assert (duty(factory, 4), duty(factory, 5)) == (0.5, 0.0)
    assert (duty(factory, 6), duty(factory, 13)) == (1.0, 0.5)
    drive.close()


def test_out_of_range_changes_nothing():
    drive, factory = make()
    drive.set(0.3, 0.3)
    with pytest.raises(ValueError):
        drive.set(1.5, 0)
    assert drive.value == (0.3, 0.3) and duty(factory, 20) == pytest.approx(0.3)
    drive.close()


class RecordingPin(MockPWMPin):
    """A mock PWM pin that appends every change, in order, to one log shared by all pins."""

    log: list[tuple[int, float]] = []

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            RecordingPin.log.append((self.info.name, float(value)))
        return changed


def _both_driven_ever(log, fwd, back) -> bool:
    """Replay the change log in order: were a motor's two pins ever above 0 together?"""
    now = {fwd: 0.0, back: 0.0}
    for name, state in log:
        pin = int(name.removeprefix("GPIO")) if isinstance(name, str) else name
        if pin in now:
            now[pin] = state
            if now[fwd] > 0 and now[back] > 0:
                return True
    return False


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["forward", "backward", "left", "right", "stop"]),
                          st.floats(0, 1)), min_size=1, max_size=40),
       st.booleans(), st.booleans())
def test_opposing_pins_never_both_driven(sequence, invert_left, invert_right):
    RecordingPin.log = []
    factory = MockFactory(pin_class=RecordingPin)
    drive = Drive(MotorConfig(invert_left=invert_left, invert_right=invert_right), factory)
    # The sequence always ends with a full-speed reversal, the case that matters most.
    for action, speed in [*sequence, ("forward", 1.0), ("backward", 1.0)]:
        drive.set(*values(action, speed))
        for fwd, back in ((20, 19), (26, 21)):
            assert not (duty(factory, fwd) > 0 and duty(factory, back) > 0)
    assert RecordingPin.log, "the recording pins saw no change"
    for fwd, back in ((20, 19), (26, 21)):
        assert not _both_driven_ever(RecordingPin.log, fwd, back)
    drive.close()
