"""The JSON guard's shared cases (``testing/data/cases/json_guard.json``) on the one Python
guard; the page's guard reads the same file (``tests/web/safejson.test.js``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts import safejson

CASES = json.loads((Path(__file__).resolve().parents[2] / "testing" / "data" / "cases"
                    / "json_guard.json").read_text(encoding="utf-8"))


def guard(case: dict[str, Any]) -> Any:
    try:
        return {"value": safejson.loads(case["text"], max_bytes=case["max_bytes"],
                                        max_depth=case["max_depth"])}
    except safejson.UnsafeJson:
        return "refused"


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda case: case["id"])
def test_the_guard_answers_each_case_as_the_contract_says(case):
    assert guard(case) == case["expect"]


@pytest.mark.parametrize("case", CASES["diverging"], ids=lambda case: case["id"])
def test_where_the_page_answers_otherwise_the_guard_answers_as_recorded(case):
    assert ("refused" if guard(case) == "refused" else "accepted") == case["answers"]["python"]
