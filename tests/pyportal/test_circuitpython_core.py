"""The device app on CircuitPython's own core, at each firmware release of the kit, with that
release's frozen libraries (``testing/circuitpython``): what the board does where CPython and
MicroPython's VM differ from it.

One core process per release runs everything but the budget (each budget run needs its own
fixed heap): the shared pure-module cases, the import of every installed ``.mpy``, and
``code.py`` itself on every screen and size, until its first refresh has settled, against the
test API's recorded answer. Without the kit every test here is skipped with one line.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from types import SimpleNamespace

import pytest

from testing import pyportal_cases as cases
from testing.circuitpython import core, memory
from testing.system import needs
from tools.pyportal_sim.runner import DEVICE_DIR

pytestmark = [needs(core.MISSING), pytest.mark.slow]
TAGS = core.tags() or ["no-kit"]
SIZES = core.SIZES
VIEWS = memory.VIEWS
QUERY = {"classic": "&history=0&photos=0", "photo": "&history=0&photos=0",
         "weather": "&history=30&photos=0", "gallery": "&history=0&photos=6"}
DEPTH = {"classic": 8, "photo": 8, "weather": 8, "gallery": 4}  # with an SD card, DEPTH unset
# the Weather view's edge cases: the one that raised on the board at both sizes (its bitmap's
# width is in the error), the others at one
EDGES = [("history_lone_first", size) for size in SIZES] + [
    (edge, SIZES[0]) for edge in ("history_single", "nulls", "legacy", "history_switch")]
SETTLE_MS = 11000  # past the diagnostics' 10 s, before the gallery turns (30 s)


def screens() -> list[tuple[str, str, tuple[int, int], str]]:
    """``(task id, view, size, payload)`` of every ``code.py`` run."""
    out = [(f"{view}-{w}x{h}", view, (w, h), "recorded") for view in VIEWS for w, h in SIZES]
    out += [(f"weather-{w}x{h}-{edge}", "weather", (w, h), edge) for edge, (w, h) in EDGES]
    return out


@pytest.fixture(scope="session")
def answers(tmp_path_factory):
    """The test API's answers, recorded once for every release."""
    return core.Answers(tmp_path_factory.mktemp("cp-answers"))


@pytest.fixture(scope="module", params=TAGS)
def board(request, tmp_path_factory, answers):
    return core.Board.make(request.param, tmp_path_factory.mktemp(f"cp-{request.param}"),
                           answers)


@pytest.fixture(scope="module")
def run(board):
    """Every task of a release in one core process."""
    tasks = [{"id": "cases", "kind": "cases", "modules": list(cases.PURE),
              "cases": [case.wire() for case in cases.ALL]},
             {"id": "imports", "kind": "imports", "modules": board.device_modules}]
    for task_id, view, size, payload in screens():
        tasks.append(board.start_task(task_id, size, memory.settings(view), payload,
                                      settle_ms=SETTLE_MS))
    tasks.append(board.start_task("esp32-hangs", SIZES[0], {}, esp32_responds=False))
    for depth in (4, 8):
        tasks.append(board.start_task(f"photo-depth-{depth}", SIZES[0],
                                      {"VIEW": "photo", "DEPTH": str(depth)},
                                      settle_ms=SETTLE_MS))
    return board.run(tasks)


def test_pure_cases_have_cpythons_outcomes(run, board):
    """The cases of testing/pyportal_cases.py, as on CPython (floats are single precision
    on the board: no case hangs on a float's last digits)."""
    outcomes = run["cases"].get("outcomes")
    assert outcomes is not None, run["cases"]
    differ = {case.id: (case.expected(), outcomes.get(case.id)) for case in cases.ALL
              if json.loads(json.dumps(case.expected())) != outcomes.get(case.id)}
    assert differ == {}, f"CircuitPython {board.tag}: {json.dumps(differ, ensure_ascii=False)}"


def test_every_module_imports_as_the_installer_compiled_it(run, board):
    names = {p.name for p in board.drive.iterdir() if p.suffix in (".py", ".mpy")}
    assert {"code.py", "boot.py", "app.mpy", "screen.mpy"} <= names
    assert not [n for n in names if n.endswith(".py") and n not in ("code.py", "boot.py")]
    assert (board.drive / "app.mpy").read_bytes()[:2] == b"C\x06"  # CircuitPython's .mpy
    assert run["imports"]["failed"] == {}


@pytest.fixture(scope="module")
def texts():
    """The app's pure text modules on CPython (``view``, ``viewtext``, ``chart``), which say
    what each view must show."""
    sys.path.append(str(DEVICE_DIR))  # last, as in the simulator
    try:
        yield SimpleNamespace(view=importlib.import_module("view"),
                              viewtext=importlib.import_module("viewtext"),
                              chart=importlib.import_module("chart"))
    finally:
        sys.path.remove(str(DEVICE_DIR))


def expected_texts(device, view: str, payload: dict) -> list[str]:
    """What the view shows for ``payload``, computed by the same modules on CPython."""
    if view == "classic":
        return [line for line in device.view.weather_lines(payload, "C") if line]
    w = device.view.weather(payload)
    if view == "weather":
        others = device.chart.series(payload)[1]
        shown = [device.viewtext.today_line(w, "C"), device.view.sun(w),
                 device.viewtext.season_line(payload, others), device.view.sol_age(payload)]
        return [text for text in shown if text]
    if view == "photo":
        return [device.viewtext.strip_line(payload, "C"), device.view.caption(payload)]
    items = device.viewtext.gallery_items(payload)
    return [items[0][3], f"1/{len(items)}"]


@pytest.mark.parametrize(("task_id", "view", "size", "payload"), screens(),
                         ids=[s[0] for s in screens()])
def test_code_py_shows_the_configured_view(run, board, texts, task_id, view, size, payload):
    """code.py starts (on 10.1 and later too: nothing imports adafruit_ticks), refreshes
    with only what the view shows, and after the diagnostics the configured view is on
    screen with its texts; no chart corner raises (a lone first sol, a null after it)."""
    report = run[task_id]
    assert report["outcome"] == "running", report
    assert (report["refreshes"], report["failures"]) == (1, 0), report["serial"]
    assert report["view"] == view
    assert report["requests"][0] == (f"GET /mars?width={size[0]}&height={size[1]}"
                                     f"&depth={DEPTH[view]}{QUERY[view]} HTTP/1.1")
    assert report["diagnostics_after_refresh"] is True  # the maker's lines, over the view...
    assert report["diagnostics_settled"] is False  # ...put away after their 10 s
    answer = board.answers.answer(size, QUERY[view], payload, DEPTH[view])
    missing = [t for t in expected_texts(texts, view, answer) if t not in report["settled"]]
    assert missing == [], report["settled"]
    assert report["watchdog_longest_gap_ms"] < 16000


@pytest.mark.parametrize("depth", [4, 8])
def test_the_photo_of_each_depth_is_checked_and_shown(run, depth):
    """DEPTH = 4: the app asks for it, its header check passes the 4-bit file on the board's
    own struct, and OnDiskBitmap takes its 16-colour palette (256 at depth 8)."""
    report = run[f"photo-depth-{depth}"]
    assert (report["outcome"], report["failures"]) == ("running", 0), report
    assert report["requests"][0].startswith(f"GET /mars?width=320&height=240&depth={depth}&")
    assert report["requests"][1].startswith(
        "GET /mars/image/%s.bmp" % ("photo-1.d4" if depth == 4 else "photo-1"))
    assert report["photos"] == [[320, 240, 16 if depth == 4 else 256]]


def test_the_settings_module_is_let_go_after_start(run):
    """Its checks are needed once: code.py drops it (about 4 KB of heap on the board)."""
    report = run["classic-320x240"]
    assert "app" in report["modules"] and "settings" not in report["modules"]


def test_diagnostics_report_the_heap_left_after_the_first_refresh(run):
    serial = run["classic-320x240"]["serial"]
    at_start = int(re.search(r"^mars: .* free (\d+)$", serial[0]).group(1))
    [line] = [line for line in serial if line.startswith("diag: free memory")]
    after_refresh = int(line.split()[3])
    assert after_refresh < at_start  # the screen's texts, the session and the payload


def test_an_esp32_that_stops_answering_costs_one_wait(run):
    """A chip that answers nothing: every command waits 10 s. The first refresh fails, the
    diagnostics ask the chip once, feeding the watchdog: no reset, the app goes on."""
    report = run["esp32-hangs"]
    assert report["outcome"] == "running", report
    assert report["failures"] >= 1
    assert "diag: esp32 firmware not responding" in report["serial"]
    assert report["watchdog_longest_gap_ms"] <= 11000  # one 10 s wait, fed around it


@pytest.fixture(scope="module")
def bases(board):
    """What the harness holds before the app starts, per size (the same for every view)."""
    return {size: memory.baseline(board, "classic", size)["baseline_bytes"] for size in SIZES}


BUDGET_CASES = [(view, size) for view in VIEWS for size in SIZES]


@pytest.mark.parametrize(("view", "size"), BUDGET_CASES,
                         ids=[f"{v}-{s[0]}x{s[1]}" for v, s in BUDGET_CASES])
def test_full_refresh_fits_the_budget(board, bases, view, size):
    """96 KB of heap at 320x240, 128 KB at 480x320, beyond what the harness itself holds
    (its stand-ins, the frozen libraries' bytecode that the board keeps in flash), and with
    4 KB more."""
    result = memory.fits(board, view, size, bases[size])
    assert result["ok"], (f"{view} {size} on CircuitPython {board.tag} fails with "
                          f"{result['failed']} bytes of heap")
