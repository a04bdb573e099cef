"""The BMP header check: what OnDiskBitmap can show passes, anything else is refused.

The cases are the ``BMP`` table of ``cases.py``, which the MicroPython run shares.
"""

from __future__ import annotations

import pytest

from testing.pyportal_cases import BMP


@pytest.mark.parametrize("case", BMP, ids=lambda case: case.id)
def test_bmp(outcome, case):
    assert outcome(case) == case.expected()
