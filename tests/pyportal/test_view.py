"""The pure view logic: any payload the API (or its ancestor) may send becomes text.

The cases are the ``VIEW`` table of ``cases.py``, which the MicroPython run shares.
"""

from __future__ import annotations

import pytest

from testing.pyportal_cases import VIEW


@pytest.mark.parametrize("case", VIEW, ids=lambda case: case.id)
def test_view(outcome, case):
    assert outcome(case) == case.expected()
