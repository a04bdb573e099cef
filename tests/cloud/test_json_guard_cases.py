"""The JSON guards' shared cases (``testing/data/cases/json_guard.json``), fed to both Python
guards; the page's guard reads the same file (``tests/web/safejson.test.js``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from robot_agent import safe_json
from robot_agent.errors import BadCommand

from cloud import safejson

CASES = json.loads((Path(__file__).resolve().parents[2] / "testing" / "data" / "cases"
                    / "json_guard.json").read_text(encoding="utf-8"))
REFUSED = "refused"


def cloud_guard(text: str, max_bytes: int, max_depth: int) -> Any:
    try:
        return {"value": safejson.loads(text, max_bytes=max_bytes, max_depth=max_depth)}
    except safejson.UnsafeJson:
        return REFUSED


def agent_guard(text: str, max_bytes: int, max_depth: int) -> Any:
    try:
        return {"value": safe_json.loads(text.encode("utf-8"), max_bytes, max_depth)}
    except BadCommand:
        return REFUSED


GUARDS: dict[str, Callable[[str, int, int], Any]] = {"cloud": cloud_guard, "agent": agent_guard}


@pytest.mark.parametrize("guard", GUARDS)
@pytest.mark.parametrize("case", CASES["cases"], ids=lambda case: case["id"])
def test_every_guard_answers_each_case_as_the_contract_says(guard, case):
    assert GUARDS[guard](case["text"], case["max_bytes"], case["max_depth"]) == case["expect"]


@pytest.mark.parametrize("guard", GUARDS)
@pytest.mark.parametrize("case", CASES["diverging"], ids=lambda case: case["id"])
def test_where_the_guards_still_diverge_each_answers_as_recorded(guard, case):
    outcome = GUARDS[guard](case["text"], case["max_bytes"], case["max_depth"])
    assert ("refused" if outcome == REFUSED else "accepted") == case["answers"][guard]
