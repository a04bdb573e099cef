"""The one command schema, shared with the robot agent and the API's request model.

The file is ``device/robot-pi/robot_agent/command.schema.json`` (the agent ships it in its
package; ``tools.deploy.build`` copies it next to this module in the Lambda package, and
``tools.deploy.template.load`` puts it in the template as the API Gateway request models).
Compiled once per container with fastjsonschema, the validator Powertools' ``validate`` uses:
Powertools compiles the schema again on every call (~25 ms a command), once is enough.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema

from cloud.robot.errors import BadCommand

FILE = "command.schema.json"
_PLACES = (Path(__file__).with_name(FILE),  # in the Lambda package
           Path(__file__).resolve().parents[2] / "device" / "robot-pi" / "robot_agent" / FILE)


def path() -> Path:
    """Where the schema is: next to this module in a Lambda package, else the repository's."""
    for place in _PLACES:
        if place.is_file():
            return place
    raise FileNotFoundError(f"the command schema {FILE} is missing (looked in "
                            f"{', '.join(str(p.parent) for p in _PLACES)})")


@functools.cache
def schema() -> dict[str, Any]:
    """The command schema (``definitions.legacy``: the original app's ``/publish`` body)."""
    return json.loads(path().read_text(encoding="utf-8"))


def api_models() -> dict[str, dict[str, Any]]:
    """The API Gateway request models, keyed by model name (``RobotCommand``...)."""
    command = {k: v for k, v in schema().items() if k != "definitions"}
    legacy = schema()["definitions"]["legacy"]
    return {command["title"]: command, legacy["title"]: legacy}


@functools.cache
def _validator(legacy: bool) -> Callable[[Any], Any]:
    document = schema()["definitions"]["legacy"] if legacy else api_models()["RobotCommand"]
    return fastjsonschema.compile(document)


_ARTICLE = {"number": "a number", "integer": "a whole number", "string": "text",
            "boolean": "true or false", "object": "a JSON object"}


def explain(document: dict[str, Any], body: Any, error: Any) -> str:
    """A sentence naming what is wrong, from the schema itself: the failing property's range,
    type or pattern, or, when no branch of ``oneOf`` matched, the description of the branch the
    body's action belongs to.

    :param error: fastjsonschema's ``JsonSchemaValueException`` (``name``, ``rule``,
        ``definition``).
    """
    field = str(error.name).removeprefix("data").lstrip(".")
    spec = error.definition if isinstance(error.definition, dict) else {}
    rule = error.rule
    if rule == "oneOf" and isinstance(body, dict):
        for branch in document.get("oneOf", []):
            if body.get("action") in branch.get("properties", {}).get("action", {}).get(
                    "enum", []):
                return f"action {body['action']!r} {branch['description']}"
        rule, field, spec = "enum", "action", document["properties"]["action"]
    if rule == "required" and isinstance(body, dict):
        missing = [k for k in spec.get("required", []) if k not in body]
        return f"{missing[0] if missing else 'a field'} is required"
    if rule == "additionalProperties" and isinstance(body, dict):
        allowed = document.get("properties", {})
        unknown = sorted(k for k in body if k not in allowed)
        return f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
    if rule in ("minimum", "maximum") and "minimum" in spec and "maximum" in spec:
        return f"{field} must be between {spec['minimum']:g} and {spec['maximum']:g}"
    if rule == "type":
        kind = str(spec.get("type"))
        return f"{field or 'the command'} must be {_ARTICLE.get(kind, kind)}"
    if rule == "enum":
        return f"{field} must be one of {', '.join(spec['enum'])}"
    if rule == "pattern":
        return f"{field} must match {spec['pattern']}"
    return str(error.message).removeprefix("data.").removeprefix("data ")


def check(body: Any, *, legacy: bool = False) -> None:
    """:raises BadCommand: *body* does not follow the schema; the message names the field."""
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, float) and not math.isfinite(value):
                # Python's parser takes NaN and Infinity, which JSON (and API Gateway) do not
                raise BadCommand(f"{key} must be a finite number")
    try:
        _validator(legacy)(body)
    except fastjsonschema.JsonSchemaValueException as exc:
        document = schema()["definitions"]["legacy"] if legacy else api_models()["RobotCommand"]
        raise BadCommand(explain(document, body, exc)) from None
