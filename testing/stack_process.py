"""Run the real local stack (``python -m tools.stack``) in a subprocess, for tests and benches.

>>> with StackProcess(only="broker,api") as stack:
...     urlopen(stack.url("/healthz"))
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from testing.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


class PortTaken(RuntimeError):
    """The stack stopped at start: a port picked for it was taken before it bound it."""


class StackProcess:
    """A local stack on free ports; stopped with SIGINT on exit.

    :param only: components to start (``--only``).
    :param env: extra environment (e.g. ``MARS_SITE_BASE`` of a fake NASA server).
    :param args: extra command-line arguments.
    """

    def __init__(self, only: str = "broker,api", env: dict[str, str] | None = None,
                 args: list[str] | None = None, data_dir: Path | None = None,
                 ready_timeout: float = 30.0) -> None:
        self.port = free_port()
        self.mqtt_port = free_port()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="stack-")
            data_dir = Path(self._tmp.name)
        self.data_dir = Path(data_dir)
        self.api_key = "test-api-key"
        self.token = "test-robot-token"
        self.only = only
        self.args = list(args or [])
        self.extra_env = dict(env or {})
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None
        self.log_path = self.data_dir / "stack.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mqtt_url(self) -> str:
        return self.extra_env.get("MQTT_URL") or f"mqtt://127.0.0.1:{self.mqtt_port}"

    def mqtt_password(self, user: str) -> str:
        """``user``'s broker password, as the stack keeps it (tools/stack/mqtt_acl.py)."""
        saved = json.loads((self.data_dir / "local-credentials.json").read_text())
        return saved["MQTT_PASSWORDS"][user]

    def mqtt_url_as(self, user: str = "observer") -> str:
        """The broker's URL signed in as ``user`` (``observer`` reads statuses and telemetry;
        the robot's name publishes its status; ``cloud`` publishes commands)."""
        host_port = self.mqtt_url.split("://", 1)[1]
        return f"mqtt://{user}:{self.mqtt_password(user)}@{host_port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def call(self, method: str, path: str, body: object = None,
             token: str | None = None) -> tuple[int, Any]:
        """One request to the robot routes as a signed-in page makes it: its status and JSON.

        :param body: sent as JSON; ``bytes`` are sent as they are.
        :param token: the bearer token (default: the stack's own sign-in).
        """
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url(path), data=data, method=method, headers={
            "Authorization": f"Bearer {token or self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tools.stack", "--port", str(self.port),
                "--mqtt-port", str(self.mqtt_port), "--data-dir", str(self.data_dir),
                "--only", self.only, *self.args]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"MARS_API_KEY": self.api_key, "ROBOT_API_TOKEN": self.token,
                    "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
        env.update(self.extra_env)
        return env

    def start(self, attempts: int = 3) -> StackProcess:
        """Start the stack and wait for it; if a port was taken meanwhile, again on new ones."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start()
            except PortTaken:
                if attempt == attempts:
                    raise
                self._log.close()
                self.port, self.mqtt_port = free_port(), free_port()
        raise AssertionError("unreachable")

    def _start(self) -> StackProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(self.command(), cwd=ROOT, env=self.environment(),
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = PortTaken if "already in use" in self.log() else RuntimeError
                raise error(f"stack exited with {self.process.returncode}:\n{self.log()}")
            if "Local stack is up" in self.log():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"stack not ready in {self.ready_timeout} s:\n{self.log()}")

    def health(self) -> dict:
        with urllib.request.urlopen(self.url("/healthz"), timeout=5) as response:
            return json.load(response)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> StackProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
