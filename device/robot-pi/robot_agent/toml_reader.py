"""One reader for every section of the agent's config file, driven by the sections' dataclasses.

A section is a frozen dataclass whose fields are its TOML keys. Each field's type says what the
key takes (``bool``, ``int``, ``float``, ``str``, ``Path``, ``X | None`` for an optional key, a
type with a ``from_toml`` class method for a nested table, a section for a table of its own);
:func:`setting` adds what the type cannot say: bounds, the allowed values, a required key, a secret
whose value is never shown. After the keys are read, the section's ``check(where)`` applies the
rules that span keys and may return a derived section (an URL split into host and port).

Every error is one :class:`~robot_agent.errors.ConfigError` naming the file, the section and
the key: ``/etc/robot-agent/config.toml: [motors] max_speed = 2 is invalid: expected
0 < x <= 1``. An unknown key is an error too (a typo would otherwise be ignored).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from robot_agent.errors import ConfigError

S = TypeVar("S")
_HIDDEN = "hidden"  # metadata flag: a value never shown in an error (a secret, a key path)


def setting(default: Any = dataclasses.MISSING, *, low: float | None = None,
        high: float | None = None, low_open: bool = False, choices: tuple[str, ...] = (),
        hidden: bool = False, internal: bool = False,
        only_with: tuple[str, str] | None = None) -> Any:
    """A section field with the rules its TOML key must meet.

    :param default: the value when the key is absent; none makes the key required.
    :param low: the least value (``low_open``: values must be above it).
    :param choices: the only values allowed.
    :param hidden: never show the value in an error (a password, the key file's path).
    :param internal: not a TOML key: set by ``check`` or by code, never read from the file.
    :param only_with: ``(other key, value)``: this key may be set only when the other has that
        value (pins only with ``driver = "custom"``).
    """
    meta = {"low": low, "high": high, "low_open": low_open, "choices": choices,
            _HIDDEN: hidden, "internal": internal, "only_with": only_with}
    return field(default=default, metadata=meta, repr=not hidden)


@dataclass(frozen=True)
class Where:
    """Where a section sits, so that errors can name it: the file, ``[section]`` and its table."""

    source: str
    section: str
    table: Mapping[str, Any]
    hidden: frozenset[str] = frozenset()

    def name(self, key: str) -> str:
        return f"[{self.section}] {key}" if self.section else key

    def invalid(self, key: str, message: str) -> ConfigError:
        """``<file>: [section] key = value is invalid: message`` (no value for a secret)."""
        shown = (f" = {self.table[key]!r}" if key in self.table and key not in self.hidden
                 else "")
        return ConfigError(f"{self.source}: {self.name(key)}{shown} is invalid: {message}")

    def required(self, key: str, why: str = "") -> ConfigError:
        return ConfigError(f"{self.source}: {self.name(key)} is required{why}")

    def error(self, message: str) -> ConfigError:
        """An error about the section as a whole."""
        where = f"[{self.section}]" if self.section else "the top level"
        return ConfigError(f"{self.source}: {where}: {message}")


def read(cls: type[S], table: Any, section: str, source: str) -> S:
    """Read the TOML table ``table`` into the section dataclass ``cls``.

    :raises ConfigError: naming the first bad, missing or unknown key.
    """
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [{section}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)  # type: ignore[arg-type]
              if f.init and not f.metadata.get("internal")}
    where = Where(source, section, table,
                  frozenset(n for n, f in fields.items() if f.metadata.get(_HIDDEN)))
    unknown = sorted(set(table) - set(fields))
    if unknown:
        place = f"[{section}] " if section else ""
        raise ConfigError(f"{source}: {place}unknown key {unknown[0]!r} "
                          f"(a typo? see config.example.toml)")
    for name, spec in fields.items():
        rule = spec.metadata.get("only_with")
        if rule and name in table and table.get(rule[0], fields[rule[0]].default) != rule[1]:
            raise where.invalid(name, f"set it only with {rule[0]} = \"{rule[1]}\"")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in table:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                if dataclasses.is_dataclass(hints[name]):
                    raise ConfigError(f"{source}: [{name}] is required")
                raise where.required(name)
            continue
        values[name] = _value(table[name], hints[name], spec.metadata, where, name)
    result = cls(**values)
    check = getattr(result, "check", None)
    return check(where) if check is not None else result


def _value(raw: Any, hint: Any, meta: Mapping[str, Any], where: Where, name: str) -> Any:
    kinds = [k for k in typing.get_args(hint) if k is not type(None)] \
        if isinstance(hint, types.UnionType) else [hint]
    kind = kinds[0]
    if isinstance(kind, type) and dataclasses.is_dataclass(kind) \
            and not hasattr(kind, "from_toml"):
        return read(kind, raw, f"{where.section}.{name}" if where.section else name,
                    where.source)
    value = _convert(raw, kind, where, name)
    low, high = meta.get("low"), meta.get("high")
    if low is not None and high is not None and (
            value < low or value > high or (meta.get("low_open") and value == low)):
        bracket = "<" if meta.get("low_open") else "<="
        raise where.invalid(name, f"expected {low} {bracket} x <= {high}")
    choices = meta.get("choices")
    if choices and value not in choices:
        raise where.invalid(name, f"expected one of {', '.join(choices)}")
    return value


def _convert(raw: Any, kind: Any, where: Where, name: str) -> Any:
    if hasattr(kind, "from_toml"):
        try:
            return kind.from_toml(raw)
        except (TypeError, ValueError) as exc:
            raise where.invalid(name, str(exc)) from None
    if kind is bool:
        if not isinstance(raw, bool):
            raise where.invalid(name, "expected true or false")
        return raw
    if isinstance(raw, bool):
        raise where.invalid(name, f"expected {_noun(kind)}, not true/false")
    if kind is float and isinstance(raw, int):
        return float(raw)
    if kind is Path:
        if not isinstance(raw, str) or not raw:
            raise where.invalid(name, "expected a file path")
        return Path(raw).expanduser()
    if not isinstance(raw, kind):
        raise where.invalid(name, f"expected {_noun(kind)}")
    return raw


def _noun(kind: Any) -> str:
    return {int: "a whole number", float: "a number", str: "a string"}.get(kind, kind.__name__)
