"""Browser tests: Debian's chromium (headless, through Playwright) against the real local stack.

The stack runs as a subprocess with the broker, the API, the web page and relay, and the
simulated robot (test-pattern camera, mock pins). Screenshots go to ``out/e2e/``.
"""

from __future__ import annotations

import pytest

from testing import system
from testing.browser import CHROMIUM, CHROMIUM_ARGS, PUPPET, ROBOT, SHOTS, Telemetry
from testing.stack_process import StackProcess

BROWSER_FILES = "tests/e2e/"


def pytest_collection_modifyitems(items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=system.reason(["chromium"]))
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def stack():
    with StackProcess(only="broker,api,web,robot",
                      env={"ROBOT_NAMES": f"{ROBOT},ghost-bot,{PUPPET}"},
                      ready_timeout=60) as running:
        yield running


@pytest.fixture(scope="module")
def telemetry(stack):
    watcher = Telemetry(stack.mqtt_url_as("observer"))
    yield watcher
    watcher.close()


# The running Playwright: its sync API holds an event loop in this thread, which a later
# file's asyncio.run() must not find, so it stops after the last browser test.
_PLAYWRIGHT: list = []


@pytest.fixture(scope="session")
def browser():
    """One chromium for every browser file (they run in one worker, one after another): each
    test opens its own context, so nothing of one page is seen by another."""
    if not CHROMIUM.exists():
        pytest.skip(system.reason(["chromium"]))
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    _PLAYWRIGHT.append(playwright)
    yield playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    _stop_playwright()


def _stop_playwright() -> None:
    while _PLAYWRIGHT:
        _PLAYWRIGHT.pop().stop()  # closes its browser


@pytest.hookimpl(trylast=True)  # after the test's own fixtures are torn down
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if nextitem is None or not nextitem.nodeid.startswith(BROWSER_FILES):
        _stop_playwright()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the local stack sends the template's Content-Security-Policy: a violation is an error
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    if not page.is_closed():
        page.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"



