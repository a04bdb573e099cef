"""Install the PyPortal app onto a CIRCUITPY drive: ``python -m tools.circuitpy install``.

The plan is computed first (what to copy, which libraries, the settings), then carried out,
so ``--dry-run`` shows exactly what would happen and writes nothing.
"""

from tools.circuitpy.install import LIBRARIES, InstallError, Plan, find_drive, make_plan

__all__ = ["LIBRARIES", "InstallError", "Plan", "find_drive", "make_plan"]
