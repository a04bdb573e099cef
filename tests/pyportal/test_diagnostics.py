"""The diagnostic lines a maker pastes into an issue: one fact each, the signal in words.

The cases are the ``DIAGNOSTICS`` table of ``cases.py``, which the MicroPython run shares.
"""

from __future__ import annotations

import sys

import pytest

from testing.pyportal_cases import DIAGNOSTICS


@pytest.mark.parametrize("case", DIAGNOSTICS, ids=lambda case: case.id)
def test_diagnostics(outcome, case):
    assert outcome(case) == case.expected()


def test_firmware_names_the_runtime(device):
    version = ".".join(str(n) for n in sys.version_info[:3])
    assert device.diagnostics.firmware() == f"cpython {version}"
