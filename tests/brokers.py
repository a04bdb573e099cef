"""A real Mosquitto broker on a free loopback port, for tests that want the production broker.

Debian's ``mosquitto`` package installs the binary in /usr/sbin, which is not on every PATH.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.stackproc import free_port


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


class Mosquitto:
    """``with Mosquitto() as broker: broker.url`` -> ``mqtt://127.0.0.1:PORT``.

    :param extra_config: more mosquitto.conf lines for the listener (TLS, for example).
    """

    def __init__(self, extra_config: str = "", port: int | None = None) -> None:
        self.port = port or free_port()
        self.extra_config = extra_config
        self.process: subprocess.Popen | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="mosquitto-")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        binary = mosquitto_path()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                        f"persistence false\n{self.extra_config}\n")
        self.process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.process.stderr.read().decode()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not start listening within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._dir.cleanup()
