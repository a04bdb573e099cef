"""The PyPortal desktop simulator: the unmodified ``device/pyportal`` app on CPython.

``python -m tools.pyportal_sim --api URL --api-key KEY`` renders the PyPortal's screen with
Blinka displayio on a headless, pixel-exact RGB565 display and saves a PNG at every refresh.
"""

from tools.pyportal_sim.runner import DEVICE_DIR, Options, Simulator, StopSimulation

__all__ = ["DEVICE_DIR", "Options", "Simulator", "StopSimulation"]
