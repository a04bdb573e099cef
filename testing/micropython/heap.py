"""Heap figures of the PyPortal app in the MicroPython VM (run by ``bench/pyportal.py``).

``gc.mem_alloc()`` after ``gc.collect()`` is what stays: module objects, functions, their
bytecode and interned names. A peak is measured with the collector off, so every block the work
allocates is still counted at its end: an upper bound of the real peak.
"""

import gc
import json


def _kept(work, *args):
    gc.collect()
    before = gc.mem_alloc()
    result = work(*args)
    gc.collect()
    return gc.mem_alloc() - before, result


def _peak(work, *args):
    gc.collect()
    before = gc.mem_alloc()
    gc.disable()
    try:
        result = work(*args)
        return gc.mem_alloc() - before, result
    finally:
        gc.enable()


def _compiled(name):
    with open("/device/%s.py" % name) as f:
        source = f.read()
    return compile(source, name + ".py", "exec")


def main(pure, board, text):
    """:param pure: modules to import; :param board: modules that need the board, compiled
    only; :param text: the API's JSON answer."""
    report = {"imported": {}, "compiled_only": {}}
    modules = {}
    for name in pure:
        kept, modules[name] = _kept(__import__, name)
        report["imported"][name] = kept
    code = []
    for name in board:
        kept, compiled = _kept(_compiled, name)
        code.append(compiled)  # kept alive, as the imported modules are
        report["compiled_only"][name] = kept
    report["pure_imports_heap_bytes"] = sum(report["imported"].values())
    # every module of the app: what its import would keep, less the board modules' objects
    report["app_modules_heap_bytes"] = report["pure_imports_heap_bytes"] + sum(
        report["compiled_only"].values())

    report["payload_json_bytes"] = len(text)
    report["parse_peak_heap_bytes"], _ = _peak(json.loads, text)
    report["payload_kept_heap_bytes"], payload = _kept(json.loads, text)
    view = modules["view"]

    def show():
        return (view.weather_lines(payload, "C"), view.weather_lines(payload, "F"),
                view.caption(payload), view.image(payload), view.status_updated(payload))

    report["format_peak_heap_bytes"], lines = _peak(show)
    report["lines"] = lines[0]
    return report
