"""What CircuitPython has and MicroPython's WebAssembly port lacks, added before any device module.

Only what the device modules (or a case's arguments) use; each line says what the board has.
Keep this small: whatever is shimmed here is not tested by the VM run.
"""

import os
import time

# CircuitPython: os.getenv(key, default) reads settings.toml. The VM has no settings.toml, and
# the cases pass their own getenv, so the default is all it ever returns.
if not hasattr(os, "getenv"):
    os.getenv = lambda key, default=None: default

# CircuitPython: time.monotonic() in float seconds. MicroPython keeps ticks_ms() instead.
if not hasattr(time, "monotonic"):
    time.monotonic = lambda: time.ticks_ms() / 1000



class TimeoutError(OSError):  # the name short_error() shows
    """CircuitPython's builtin ``TimeoutError`` (MicroPython has none); only cases build it."""


def exceptions():
    """Exception classes by name, for the cases' ``$exc`` arguments."""
    import builtins

    found = {"TimeoutError": getattr(builtins, "TimeoutError", TimeoutError)}
    for name in ("OSError", "ValueError", "MemoryError", "RuntimeError", "Exception"):
        found[name] = getattr(builtins, name)
    return found
