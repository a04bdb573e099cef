"""The motors: a gpiozero ``Robot`` built from the config, with invert and a speed cap.

The presets are gpiozero's own board classes where it has one (``RyanteckRobot``,
``CamJamKitRobot``, ``PololuDRV8835Robot``: their pins are theirs, in gpiozero's ``boards.py``);
the Explorer HAT Pro, which gpiozero has no class for, and ``custom`` are a ``Robot`` of two
motors on the configured pins. The pin factory is passed in (gpiozero's own pattern): ``None``
uses gpiozero's default (lgpio on a Pi), :func:`mock_factory` gives PWM-capable mock pins for
``--simulate`` and the tests. gpiozero's ``Motor`` always turns one pin off before driving the
other, so the two pins of a motor are never driven together; ``PhaseEnableMotor`` has one
direction pin by construction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gpiozero import (
    CamJamKitRobot,
    Motor,
    PhaseEnableMotor,
    PololuDRV8835Robot,
    Robot,
    RyanteckRobot,
)
from gpiozero.pins.mock import MockFactory, MockPWMPin

from robot_agent.config import MotorConfig, Pins

# Pimoroni Explorer HAT Pro (DRV8833), as its own library wires it: motor one is the left wheel.
EXPLORER_HAT = (Pins(forward=20, backward=19), Pins(forward=26, backward=21))


def mock_factory() -> MockFactory:
    """Mock pins that accept PWM duty cycles (``factory.pin(n).state`` reads them back)."""
    return MockFactory(pin_class=MockPWMPin)


def _motor(pins: Pins, factory: Any) -> Motor | PhaseEnableMotor:
    if pins.phase_enable:
        return PhaseEnableMotor(pins.phase, pins.enable, pin_factory=factory)
    return Motor(forward=pins.forward, backward=pins.backward, pin_factory=factory)


def _pair(left: Pins, right: Pins, factory: Any) -> Robot:
    # PhaseEnableRobot is broken in gpiozero 2.0.1; Robot takes any pair of motors.
    return Robot(left=_motor(left, factory), right=_motor(right, factory), pin_factory=factory)


BOARDS: dict[str, Callable[[Any], Robot]] = {
    "explorer-hat": lambda factory: _pair(*EXPLORER_HAT, factory),
    "ryanteck": lambda factory: RyanteckRobot(pin_factory=factory),
    "camjam": lambda factory: CamJamKitRobot(pin_factory=factory),
    "pololu-drv8835": lambda factory: PololuDRV8835Robot(pin_factory=factory),
}


def build_robot(config: MotorConfig, factory: Any) -> Robot:
    """gpiozero's robot for ``config``: a board class, or two motors on custom pins."""
    if config.driver == "custom":
        assert config.left is not None and config.right is not None  # the config checked it
        return _pair(config.left, config.right, factory)
    return BOARDS[config.driver](factory)


def _bcm(device: Any) -> int:
    """A device's BCM pin number (gpiozero names pins ``GPIO17`` whatever they were given as:
    the board classes use physical ``BOARD11`` names)."""
    return int(str(device.pin.info.name).removeprefix("GPIO"))


class Drive:
    """Two motors, driven by logical values in -1..1 (positive = forwards for that side).

    :param config: the ``[motors]`` section.
    :param pin_factory: a gpiozero pin factory, or ``None`` for gpiozero's default.
    """

    def __init__(self, config: MotorConfig, pin_factory: Any = None) -> None:
        self.config = config
        self.pin_factory = pin_factory
        self._robot = build_robot(config, pin_factory)
        self._pins = sorted(_bcm(device) for motor in (self._robot.left_motor,
                                                        self._robot.right_motor)
                            for device in motor)
        self._lock = threading.Lock()  # the shutdown path may run outside the event loop
        self._value = (0.0, 0.0)

    @property
    def value(self) -> tuple[float, float]:
        """The logical ``(left, right)`` last set (before invert, after the speed cap)."""
        return self._value

    @property
    def pins(self) -> list[int]:
        """The motors' BCM pins."""
        return self._pins

    def set(self, left: float, right: float) -> tuple[float, float]:
        """Drive both sides; returns the values applied after the ``max_speed`` cap.

        :raises ValueError: for a value outside -1..1 (nothing changes).
        """
        if not (-1.0 <= left <= 1.0 and -1.0 <= right <= 1.0):
            raise ValueError(f"motor values must be in -1..1, got ({left}, {right})")
        cap = self.config.max_speed
        applied = (round(left * cap, 4), round(right * cap, 4))
        physical = (-applied[0] if self.config.invert_left else applied[0],
                    -applied[1] if self.config.invert_right else applied[1])
        with self._lock:
            if self._robot.closed:
                return self._value
            self._robot.value = physical
            self._value = applied
        return applied

    def stop(self) -> None:
        """Both motors off, at once. Safe to call any time, from any thread, repeatedly."""
        with self._lock:
            if not self._robot.closed:
                self._robot.stop()
            self._value = (0.0, 0.0)

    def pin_states(self) -> dict[str, float]:
        """Each motor pin's duty (0..1) as the pin factory reports it; for status/telemetry."""
        states: dict[str, float] = {}
        for pin in self.pins:
            state = self._pin(pin).state
            states[str(pin)] = round(float(state), 4)
        return states

    def _pin(self, number: int):
        factory = self.pin_factory or self._robot.pin_factory
        return factory.pin(number)

    def close(self) -> None:
        """Stop, then release the pins."""
        self.stop()
        with self._lock:
            self._robot.close()

    def describe(self) -> dict[str, Any]:
        return {"driver": self.config.driver, "left": self._value[0], "right": self._value[1],
                "simulated": isinstance(self.pin_factory, MockFactory)}
