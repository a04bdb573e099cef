"""Suite-wide: ``make test`` ends with one line naming any system package whose absence
skipped tests (see :mod:`testing.system`)."""

from __future__ import annotations

import pytest

from testing import system


def pytest_unconfigure(config: pytest.Config) -> None:
    # After pytest's own "N passed" line, so it is the last line of the run.
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not hasattr(reporter, "stats"):
        return
    reasons = []
    for report in reporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            reasons.append(str(longrepr[2]))
    reporter.write_line(system.summary_line(system.skipped_for(reasons)))
