"""``pyportal``: the PyPortal simulator as a child process, drawing the screen to a PNG.

It runs the unmodified ``device/pyportal`` app against the stack's own API
(``python -m tools.pyportal_sim --api {base_url} --out {data_dir}/pyportal.png``, the API
key in ``MARS_API_KEY``); its serial log appears prefixed ``[pyportal]``. The PNG is
rewritten at every refresh (every ``REFRESH_MINUTES`` of the app, 10 by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.stack.component import Component, StackContext
from tools.stack.process import ChildProcess

ROOT = Path(__file__).resolve().parents[3]


class PyPortalComponent(Component):
    name = "pyportal"

    def __init__(self) -> None:
        self.child: ChildProcess | None = None
        self.png: Path | None = None

    def command(self, ctx: StackContext) -> list[str]:
        """The simulator's arguments (after ``python -m tools.pyportal_sim``); the API key goes
        in its environment (``MARS_API_KEY``), where ``ps`` does not show it."""
        return ["--api", ctx.base_url, "--out", str(self.png)]

    async def start(self, ctx: StackContext) -> None:
        self.png = ctx.data_dir / "pyportal.png"
        # The simulator shows the PyPortal booting, like the board; no need to wait for it.
        self.child = ChildProcess.python_module("pyportal", "tools.pyportal_sim",
                                                *self.command(ctx),
                                                env=dict(ctx.env, MARS_API_KEY=ctx.api_key),
                                                cwd=str(ROOT))
        await self.child.start()

    async def stop(self) -> None:
        if self.child is not None:
            await self.child.stop()

    def urls(self, ctx: StackContext) -> list[tuple[str, str]]:
        return [("PyPortal screen", str(ctx.data_dir / "pyportal.png"))]

    def health(self) -> dict[str, Any]:
        running = self.child is not None and self.child.running
        return {"up": running, "png": str(self.png) if self.png else None,
                "has_frame": bool(self.png and self.png.exists())}
