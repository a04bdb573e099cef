"""The one drive command schema, shared by the robot agent, the Lambda and the API's request
models (``tools.deploy.template.load`` puts :func:`api_models` in the template).

``command.schema.json`` is package data, read with :mod:`importlib.resources` wherever the
package is installed. Compiled once per process with fastjsonschema, the validator Powertools'
``validate`` uses (it compiles the schema again on every call, ~25 ms a command).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from importlib import resources
from typing import Any

import fastjsonschema

from contracts.errors import CommandRefused
from contracts.refusals import explain

FILE = "command.schema.json"
ALIASES = {"backwards": "backward"}  # the original web app's spelling
DEFAULT_SPEED = 0.5
DEFAULT_DURATION_MS = 250
# The original web app sends only {"action": ...}; its agent ran 0.2 s at full speed.
LEGACY_SPEED = 1.0
LEGACY_DURATION_MS = 200


@functools.cache
def schema() -> dict[str, Any]:
    """The command schema (``definitions.legacy``: the original app's ``/publish`` body)."""
    return json.loads(resources.files(__package__).joinpath(FILE).read_text(encoding="utf-8"))


def api_models() -> dict[str, dict[str, Any]]:
    """The API Gateway request models, keyed by model name (``RobotCommand``...)."""
    command = {k: v for k, v in schema().items() if k != "definitions"}
    legacy = schema()["definitions"]["legacy"]
    return {command["title"]: command, legacy["title"]: legacy}


def duration_range_ms() -> tuple[int, int]:
    """The ``duration_ms`` the schema allows, ``(minimum, maximum)``."""
    spec = schema()["properties"]["duration_ms"]
    return int(spec["minimum"]), int(spec["maximum"])


def canonical(action: str) -> str:
    """The action's one spelling (``backwards`` -> ``backward``)."""
    return ALIASES.get(action, action)


@functools.cache
def _document(legacy: bool) -> dict[str, Any]:
    return schema()["definitions"]["legacy"] if legacy else api_models()["RobotCommand"]


@functools.cache
def _validator(legacy: bool) -> Callable[[Any], Any]:
    return fastjsonschema.compile(_document(legacy))


def check(body: Any, *, legacy: bool = False) -> None:
    """:raises CommandRefused: *body* does not follow the schema; the message names the field."""
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, float) and not math.isfinite(value):
                # Python's parser takes NaN and Infinity, which JSON (and API Gateway) do not
                raise CommandRefused(f"{key} must be a finite number")
    try:
        _validator(legacy)(body)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise CommandRefused(explain(_document(legacy), body, exc)) from None
