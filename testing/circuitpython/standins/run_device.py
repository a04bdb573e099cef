"""Runs the device app on CircuitPython's core, as the host's ``testing.circuitpython.core``
asks (``job.json`` in the drive folder, the current folder). Prints, per task::

    @@RUN <id>
    ...the app's serial output...
    @@END <id> {json report}

Tasks: ``cases`` (the shared pure-module cases, ``testing/micropython/caserun.py``),
``imports`` (each device module), ``start`` (``code.py`` with a ``settings.toml``, until the
first refresh has settled; then what the screen shows).
"""

import gc
import json
import sys

import harness

_print = print


def emit(line):
    _print(line)


BASE = []  # the modules of the harness itself, kept from task to task


def forget():
    """Every module but the harness's: the next run imports the app and the frozen
    libraries afresh, as after a reset (their globals hold the last run's objects)."""
    for name in list(sys.modules):
        if name not in BASE:
            del sys.modules[name]
    gc.collect()


def empty_sd():
    import os

    for name in os.listdir("sd"):
        os.remove("sd/" + name)


def visible_texts(layer, out, hidden=False):
    """The texts of every label shown: what a person would read on the screen."""
    hidden = hidden or getattr(layer, "hidden", False)
    text = getattr(layer, "text", None)
    if isinstance(text, str):
        if not hidden and text.strip():
            out.append(text)
        return out
    if hasattr(layer, "_layers"):
        for child in layer._layers:
            visible_texts(child, out, hidden)
    return out


def photos_shown(layer, out, hidden=False):
    """``[width, height, palette colours]`` of every photo shown (an ``OnDiskBitmap``)."""
    import displayio_standin

    hidden = hidden or getattr(layer, "hidden", False)
    bitmap = getattr(layer, "bitmap", None)
    if isinstance(bitmap, displayio_standin.OnDiskBitmap) and not hidden:
        out.append([bitmap.width, bitmap.height, len(bitmap.pixel_shader)])
    for child in getattr(layer, "_layers", ()):
        photos_shown(child, out, hidden)
    return out


def diagnostics_shown():
    import board

    return getattr(board.DISPLAY.root_group, "showing_diagnostics", None)


def task_cases(task, report):
    import caserun

    modules, failed = caserun.import_all(task["modules"])
    if failed:
        report["import_failed"] = failed
        return
    report["outcomes"] = caserun.run_all(task["cases"], modules, "scratch",
                                         caserun_exceptions())


def caserun_exceptions():
    import builtins

    found = {}
    for name in ("TimeoutError", "OSError", "ValueError", "MemoryError", "RuntimeError",
                 "Exception"):
        found[name] = getattr(builtins, name)
    return found


def task_imports(task, report):
    failed = {}
    for name in task["modules"]:
        try:
            __import__(name)
        except Exception as e:  # every failure is the report
            failed[name] = "%s: %s" % (type(e).__name__, e)
    report["failed"] = failed


def preload(names):
    """Import the frozen libraries the app uses before measuring: on the board their
    bytecode is in flash; here it is in the heap, and this is how much."""
    gc.collect()
    before = gc.mem_alloc()
    for name in names:
        try:
            __import__(name)
        except ImportError:
            pass  # not in this firmware's set: the app's own import will say so
    gc.collect()
    return gc.mem_alloc() - before


def task_start(task, report):
    import board
    import displayio_standin
    import esp32_standin
    import microcontroller

    forget()
    empty_sd()  # a new SD card: no photo kept from the last run
    with open("settings.toml", "w") as f:
        for key, value in task["settings"].items():
            f.write('%s = "%s"\n' % (key, value))
    width, height = task["size"]
    board.DISPLAY = displayio_standin.Display(width, height)
    esp32_standin.routes = task["routes"]
    esp32_standin.responds[0] = task.get("esp32_responds", True)
    esp32_standin.log = []
    harness.clock[0] = 0
    harness.fed[0] = None
    harness.longest_gap[0] = 0
    microcontroller.watchdog.mode = None
    serial = []
    capture = task.get("capture", True)
    if capture:
        import builtins

        builtins.print = lambda *args, **kw: serial.append(" ".join(str(a) for a in args))
    settle_ms = task.get("settle_ms", 30000)
    seen = {"refreshed_at": None, "first": None}

    limit_ms = task.get("limit_ms", 3600000)  # a run that never refreshes ends here

    def settled():
        app = sys.modules.get("app")
        stats = getattr(app, "stats", None)
        if stats is None or stats.refreshes < task.get("refreshes", 1):
            return harness.clock[0] >= limit_ms
        if seen["refreshed_at"] is None:
            seen["refreshed_at"] = harness.clock[0]
            if capture:
                seen["first"] = visible_texts(board.DISPLAY.root_group, [])
                seen["diagnostics"] = diagnostics_shown()
        return harness.clock[0] - seen["refreshed_at"] >= settle_ms

    harness.stop_when[0] = settled
    gc.collect()
    report["frozen_bytes"] = preload(task.get("preload", ()))
    gc.collect()
    report["baseline_bytes"] = gc.mem_alloc()  # the harness and the frozen libraries
    harness.peak[0] = 0
    harness.probing[0] = task.get("probe", False)
    harness.probe()
    with open("code.py") as f:
        source = f.read()
    try:
        exec(compile(source, "code.py", "exec"), {"__name__": "__main__"})
        report["outcome"] = "returned"
    except harness.StopRun:
        report["outcome"] = "running"
    except harness.BoardReset as e:
        report["outcome"] = "reset: %s" % e
    except Exception as e:  # code.py stopped: the board would print this
        report["outcome"] = "stopped: %s: %s" % (type(e).__name__, e)
    finally:
        harness.probing[0] = False
        if capture:
            import builtins

            builtins.print = _print
    del source
    app = sys.modules.get("app")
    stats = getattr(app, "stats", None)
    report["modules"] = sorted(name for name in sys.modules if name not in BASE)
    report["refreshes"] = getattr(stats, "refreshes", 0)
    report["failures"] = getattr(stats, "failures", None)
    report["peak_bytes"] = harness.peak[0]
    report["requests"] = esp32_standin.log
    report["watchdog_longest_gap_ms"] = harness.longest_gap[0]
    report["uptime_ms"] = harness.clock[0]
    if capture:
        report["serial"] = serial
        report["after_refresh"] = seen["first"]
        report["settled"] = visible_texts(board.DISPLAY.root_group, [])
        report["photos"] = photos_shown(board.DISPLAY.root_group, [])
        report["diagnostics_after_refresh"] = seen.get("diagnostics")
        report["diagnostics_settled"] = diagnostics_shown()
        report["view"] = getattr(board.DISPLAY.root_group, "current", None)
    gc.collect()
    report["mem_alloc_after"] = gc.mem_alloc()


TASKS = {"cases": task_cases, "imports": task_imports, "start": task_start}


def main():
    with open(sys.argv[-1]) as f:
        job = json.load(f)
    harness.setup(job["size"][0], job["size"][1], job["esp32spi_major"])
    import adafruit_esp32spi  # the firmware's package, with the stand-in chip inside
    import esp32_standin

    adafruit_esp32spi.adafruit_esp32spi = esp32_standin
    BASE.extend(sys.modules)
    for task in job["tasks"]:
        emit("@@RUN %s" % task["id"])
        report = {}
        try:
            TASKS[task["kind"]](task, report)
        except Exception as e:  # the next task still runs
            report["error"] = "%s: %s" % (type(e).__name__, e)
        emit("@@END %s %s" % (task["id"], json.dumps(report)))


main()
