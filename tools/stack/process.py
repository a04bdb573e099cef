"""Child processes of the local stack (the simulated robot, the PyPortal simulator).

Each child's output is copied to ours line by line with a ``[name]`` prefix; stopping sends
SIGTERM, waits, then kills, so Ctrl-C never leaves an orphan behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence

log = logging.getLogger("stack")


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the stack dies, even by SIGKILL (Linux).

    Otherwise a killed stack leaves the agent running, and the next start runs two agents
    with one client id that keep taking over each other's session.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


class ChildProcess:
    """Run ``argv`` (a Python module by default) as a supervised child.

    :param name: prefix of its output lines.
    :param argv: the command; ``sys.executable`` is used for ``-m`` commands.
    :param env: its environment (the stack's, usually).
    :param stop_timeout: seconds between SIGTERM and SIGKILL.
    """

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
                 cwd: str | None = None, stop_timeout: float = 5.0) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else dict(os.environ)
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task | None = None

    @classmethod
    def python_module(cls, name: str, module: str, *args: str, **kwargs) -> ChildProcess:
        return cls(name, [sys.executable, "-u", "-m", module, *args], **kwargs)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C reaches it only through stop()
            preexec_fn=_die_with_parent,
        )
        self._pump = asyncio.create_task(self._copy_output())

    async def _copy_output(self) -> None:
        assert self.process and self.process.stdout
        async for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                print(f"[{self.name}] {line}", flush=True)

    async def stop(self) -> int | None:
        """Stop the child; returns its exit code (``None`` if it never started)."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), self.stop_timeout)
            except TimeoutError:
                log.warning("%s did not stop within %.0f s; killing it", self.name,
                            self.stop_timeout)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                await self.process.wait()
        if self._pump is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(self._pump, 2)
        return self.process.returncode
