"""settings.toml validation: every bad value names the setting and where to fix it.

The cases are the ``SETTINGS`` table of ``cases.py``, which the MicroPython run shares.
"""

from __future__ import annotations

import pytest

from testing.pyportal_cases import GOOD, SETTINGS


@pytest.mark.parametrize("case", SETTINGS, ids=lambda case: case.id)
def test_settings(outcome, case):
    assert outcome(case) == case.expected()


def test_secrets_not_in_repr(device):
    loaded = device.settings.load(getenv=lambda k, d=None: GOOD.get(k, d))
    shown = repr(loaded) + str(loaded)
    assert GOOD["CIRCUITPY_WIFI_PASSWORD"] not in shown and GOOD["MARS_API_KEY"] not in shown
    leaks = [case.expect[-1] for case in SETTINGS if case.call == "@settings_load"
             and isinstance(case.expect, tuple)]
    assert leaks and not any(leaks)  # the cases say no print of the settings shows them
