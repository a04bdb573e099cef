"""The app's exceptions: messages that say what to fix, one base the main loop can catch.

The cases are the ``ERRORS`` table of ``cases.py``, which the MicroPython run shares.
"""

from __future__ import annotations

import pytest

from testing.pyportal_cases import ERRORS


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.id)
def test_errors(outcome, case):
    assert outcome(case) == case.expected()


def test_every_error_is_a_portal_error(device):
    e = device.errors
    assert all(issubclass(cls, e.PortalError) for cls in (e.SettingError, e.FetchError,
                                                          e.BadBitmap))
