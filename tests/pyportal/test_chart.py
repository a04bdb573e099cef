"""The Mars views' pure logic (``chart``, ``viewtext``): the ``CHART`` and ``VIEWTEXT`` tables
of ``cases_mars.py``, which the MicroPython run shares."""

from __future__ import annotations

import pytest

from testing.pyportal_cases import CHART, VIEWTEXT


@pytest.mark.parametrize("case", CHART + VIEWTEXT, ids=lambda case: case.id)
def test_chart_and_texts(outcome, case):
    assert outcome(case) == case.expected()
