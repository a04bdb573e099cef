"""The contracts' exceptions: one base, a ``ValueError`` (bad input, nothing changed)."""

from __future__ import annotations


class ContractError(ValueError):
    """Input that breaks a shared contract."""


class UnsafeJson(ContractError):
    """JSON refused before or while parsing.

    :param reason: ``"too_large"`` (bytes or nesting) or ``"malformed"`` (not JSON).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class TooDeep(UnsafeJson):
    """JSON nested deeper than the guard allows (``reason`` ``too_large``): refused unparsed."""


class CommandRefused(ContractError):
    """A body that the command schema refuses; the message names the field."""
