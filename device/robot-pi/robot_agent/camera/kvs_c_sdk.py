"""Supervise the upstream KVS WebRTC C SDK master sample (``kvsWebrtcClientMasterGstSample``).

For robots that already run the C SDK built with ``-DIOT_CORE_ENABLE_CREDENTIALS=ON``. The
binary reads its IoT credentials settings from ``AWS_IOT_CORE_*`` variables, writes a signaling
cache into its working directory, logs ``... set up done`` once connected (at
``AWS_KVS_LOG_LEVEL`` 3 or below) and shuts down cleanly only on SIGINT. This module:

- passes those variables (and never ``AWS_IOT_CORE_CERTIFICATE_ID``, which would replace the
  channel name), the CA path and the region; runs it in a writable working directory;
- reports ``starting`` until a readiness line, then ``streaming``;
- restarts it with exponential backoff when it exits, resetting the backoff after a stable run;
- stops it with SIGINT, then SIGKILL if it does not exit in time.

The sample only logs what viewers send on data channels, so this camera does not offer the
``drive`` channel (``drive_channel`` stays false and the page drives over HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robot_agent.camera import Camera, StateListener
from robot_agent.camera.settings import CameraSettings

log = logging.getLogger("robot.camera")

READY_LINES = ("set up done", "Signaling client connection to socket established")


def child_environment(settings: CameraSettings, base: Mapping[str, str]) -> dict[str, str]:
    """The environment the C SDK sample reads its configuration from."""
    env = {k: v for k, v in base.items()
           if not k.startswith(("AWS_IOT_CORE_", "AWS_ACCESS_KEY", "AWS_SECRET", "AWS_SESSION"))}
    env.update({
        "AWS_IOT_CORE_CREDENTIAL_ENDPOINT": settings.credentials_endpoint,
        "AWS_IOT_CORE_CERT": settings.cert,
        "AWS_IOT_CORE_PRIVATE_KEY": settings.key,
        "AWS_IOT_CORE_ROLE_ALIAS": settings.role_alias,
        "AWS_IOT_CORE_THING_NAME": settings.channel,
        "AWS_KVS_CACERT_PATH": settings.ca,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_KVS_LOG_LEVEL": str(settings.kvs_log_level),
    })
    return env


class KvsCSdkCamera(Camera):
    """The C SDK sample as a supervised child process.

    :param backoff: first and longest wait before a restart, in seconds.
    :param stable_s: a run longer than this resets the backoff.
    :param stop_timeout: seconds between SIGINT and SIGKILL.
    """

    driver = "kvs-c-sdk"

    def __init__(self, settings: CameraSettings, on_change: StateListener | None = None, *,
                 backoff: tuple[float, float] = (1.0, 60.0), stable_s: float = 60.0,
                 stop_timeout: float = 10.0) -> None:
        super().__init__(on_change)
        self.settings = settings
        self.backoff, self.stable_s, self.stop_timeout = backoff, stable_s, stop_timeout
        self.argv = [settings.binary, settings.channel, "video-only", settings.source_type]
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._state: dict[str, Any] = {"state": "off", "viewers": 0}
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    @property
    def state(self) -> dict[str, Any]:
        return dict(self._state)

    def _set(self, state: str, **extra: Any) -> None:
        new = {"state": state, "viewers": 0, **extra}
        if new != self._state:
            self._state = new
            self._changed()

    async def start(self) -> None:
        work_dir = Path(self.settings.work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        self._stopping.clear()
        self._set("starting")
        self._task = asyncio.create_task(self._supervise(work_dir))

    async def _supervise(self, work_dir: Path) -> None:
        loop = asyncio.get_running_loop()
        delay = self.backoff[0]
        env = child_environment(self.settings, os.environ)
        while not self._stopping.is_set():
            started = loop.time()
            try:
                self.process = await asyncio.create_subprocess_exec(
                    *self.argv, cwd=work_dir, env=env, stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True)  # the agent's own Ctrl-C reaches it via stop()
            except OSError as exc:
                log.error("camera: cannot run %s: %s", self.argv[0], exc)
                self._set("error", error=f"cannot run {Path(self.argv[0]).name}")
            else:
                self._set("starting")
                code = await self._watch(self.process)
                if self._stopping.is_set():
                    break
                log.warning("camera: %s exited with %s; restarting in %.1f s",
                            Path(self.argv[0]).name, code, delay)
                self._set("error", error=f"exited with {code}")
                if loop.time() - started > self.stable_s:
                    delay = self.backoff[0]
            self.restarts += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, self.backoff[1])

    async def _watch(self, process: asyncio.subprocess.Process) -> int:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            log.info("[kvs] %s", line)
            if any(marker in line for marker in READY_LINES):
                self._set("streaming")
        return await process.wait()

    async def stop(self) -> None:
        self._stopping.set()
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)  # the only signal the sample handles
            try:
                await asyncio.wait_for(process.wait(), self.stop_timeout)
            except TimeoutError:
                log.warning("camera: the C SDK sample ignored SIGINT; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)
            self._task = None
        self._set("off")
