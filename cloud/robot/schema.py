"""The one command schema, shared with the robot agent and the API's request model.

The file is ``device/robot-pi/robot_agent/command.schema.json`` (the agent ships it in its
package; ``tools.deploy.build`` copies it next to this module in the Lambda package, and
``tools.deploy.template.load`` puts it in the template as the API Gateway request models).
Compiled once per container with fastjsonschema, the validator Powertools' ``validate`` uses:
Powertools compiles the schema again on every call (~25 ms a command), once is enough.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema

from cloud.robot.errors import BadCommand

FILE = "command.schema.json"
TEXT = "schema_text.py"  # its refusals in words, shared the same way
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


def _load_explain() -> Callable[[dict[str, Any], Any, Any], str]:
    """``explain`` from the shared ``schema_text.py``, found where the schema is."""
    source = path().with_name(TEXT)
    spec = importlib.util.spec_from_file_location("_command_schema_text", source)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"the shared {TEXT} is missing beside {path()}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    explain: Callable[[dict[str, Any], Any, Any], str] = module.explain
    return explain


explain = _load_explain()


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
