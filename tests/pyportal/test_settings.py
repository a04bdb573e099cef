"""settings.toml validation: every bad value names the setting and where to fix it.

The cases are the ``SETTINGS`` table of ``cases.py``, which the MicroPython run shares.
"""

from __future__ import annotations

import pytest

from testing.pyportal_cases import GOOD, SETTINGS


@pytest.mark.parametrize("case", SETTINGS, ids=lambda case: case.id)
def test_settings(outcome, case):
    assert outcome(case) == case.expected()


def test_secrets_not_in_repr():
    shown = [case.expect[-1] for case in SETTINGS if isinstance(case.expect, tuple)]
    assert shown and all("home" in text for text in shown)
    assert not any(GOOD["CIRCUITPY_WIFI_PASSWORD"] in t or GOOD["MARS_API_KEY"] in t
                   for t in shown)
