"""Suite-wide: the order files start in under ``make test``'s workers, and the last line naming
any system package whose absence skipped tests (see :mod:`testing.system`)."""

from __future__ import annotations

import pytest

from testing import system

# Browser tests check real-time promises (a released button stops the robot within 500 ms): they
# run one file after another in one worker, so two chromiums and two stacks never compete.
BROWSER_FILES = "tests/e2e/"


def _start_rank(item: pytest.Item) -> int:
    if item.nodeid.startswith(BROWSER_FILES):
        return 0
    return 1 if item.get_closest_marker("slow") else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The longest work starts first (browser files, then files with slow tests), so no worker
    # is left with a long file at the end while the others idle. Order within a file is kept.
    rank: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        rank[path] = min(rank.get(path, 2), _start_rank(item))
    position = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (rank[item.nodeid.split("::", 1)[0]], position[id(item)]))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserFilesTogether(LoadFileScheduling):
        """One work unit per test file, except that all browser files make one unit."""

        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(BROWSER_FILES):
                return BROWSER_FILES
            return super()._split_scope(nodeid)

    return BrowserFilesTogether(config, log)


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
