"""The PyPortal's pure modules in a real MicroPython VM: same cases, same outcomes as CPython.

The VM is MicroPython's WebAssembly port (``micropython/``: the pinned npm package, run by
Node): the board's parser, compiler, object model, integer, string and exception behaviour,
without its hardware. Every case of ``testing/pyportal_cases.py`` runs in one VM process.
"""

from __future__ import annotations

import json

import pytest

from testing import pyportal_cases as cases
from testing.micropython import vm
from testing.pyportal_cases import PURE
from testing.pyportal_device import firmware

SCRIPTS = ("code",)  # run by the firmware, not imported (boot.py neither: see vm.py)


@pytest.fixture(scope="module")
def in_vm():
    try:
        return vm.run_cases(list(PURE), [case.wire() for case in cases.ALL])
    except vm.VMUnavailable as error:
        pytest.fail(str(error))


def difference(case_id: str, on_cpython, on_micropython) -> str | None:
    """Both outcomes, side by side, when they differ (compared in their JSON form)."""
    on_cpython = json.loads(json.dumps(on_cpython))
    if on_cpython == on_micropython:
        return None
    return (f"{case_id}: MicroPython and CPython differ\n"
            f"  CPython:     {json.dumps(on_cpython, ensure_ascii=False)}\n"
            f"  MicroPython: {json.dumps(on_micropython, ensure_ascii=False)}")


def import_problems(failed: dict[str, str], board_only: set[str]) -> list[str]:
    """What is wrong with the VM's import failures: a pure module that does not import, or a
    module that needs something neither MicroPython nor the PyPortal firmware has."""
    problems = []
    for name, message in sorted(failed.items()):
        missing = message.split("'")[1] if "'" in message else message
        if name in PURE:
            problems.append(f"device module {name} does not import in MicroPython: {message}")
        elif missing not in board_only:
            problems.append(f"device module {name} imports {missing}, which neither "
                            f"MicroPython nor the PyPortal firmware has: {message}")
    return problems


@pytest.mark.parametrize("case", cases.ALL, ids=lambda case: case.id)
def test_same_outcome_as_cpython(in_vm, outcome, case):
    assert difference(case.id, outcome(case), in_vm[case.id]) is None, difference(
        case.id, outcome(case), in_vm[case.id])


def test_every_case_ran_in_the_vm(in_vm):
    assert set(in_vm) == {case.id for case in cases.ALL}


def test_device_modules_import_in_the_vm():
    """Pure modules import; the others fail only on a module of the PyPortal firmware."""
    names = [name for name in vm.device_modules() if name not in SCRIPTS]
    assert set(PURE) <= set(names)
    # the firmware's modules first: device modules must not stand in for them
    firmware_names = sorted(firmware() - set(names))
    failed = vm.import_failures(firmware_names + names)
    board_only = {name for name in firmware_names if name in failed}
    failed = {name: failed[name] for name in names if name in failed}
    assert {"board", "displayio"} <= board_only
    assert import_problems(failed, board_only) == []
    untested = set(names) - set(failed) - set(PURE)
    assert not untested, (f"{sorted(untested)} run in MicroPython: give each a table of cases in "
                          "testing/pyportal_cases.py (TABLES), so both runtimes check it")


def test_the_checks_can_fail():
    """A differing case shows both outputs; a missing module is named with its importer."""
    shown = difference("lines-full", {"$tuple": ["Sol 1"]}, {"$tuple": ["Sol 2"]})
    assert "CPython:     {\"$tuple\": [\"Sol 1\"]}" in shown and "Sol 2" in shown
    assert difference("x", {"$tuple": [1]}, {"$tuple": [1]}) is None
    problems = import_problems({"view": "no module named 're'",
                                "screen": "no module named 'displayio'",
                                "app": "no module named 'typing'"}, {"displayio"})
    assert problems == [
        "device module app imports typing, which neither MicroPython nor the PyPortal "
        "firmware has: no module named 'typing'",
        "device module view does not import in MicroPython: no module named 're'"]


def test_heap_figures_for_the_bench():
    """bench/pyportal.py's VM section runs and measures every module (numbers: the bench)."""
    from testing.fake_mars_api import load_payload

    board = [name for name in vm.device_modules() if name not in PURE]
    report = vm.heap_report(list(PURE), board, load_payload("full"))
    assert set(report["imported"]) == set(PURE) and all(report["imported"].values())
    assert set(report["compiled_only"]) == set(board) and "app" in board
    assert report["app_modules_heap_bytes"] > report["pure_imports_heap_bytes"] > 0
    assert report["format_peak_heap_bytes"] > 0
    assert tuple(report["lines"]) == cases.FULL_LINES
