"""Real MQTT brokers on loopback, in child processes, for tests and benchmarks.

``BrokerProcess("mosquitto")`` is the production broker (Debian installs the binary in
/usr/sbin, which is not on every PATH); ``BrokerProcess("amqtt")`` the stack's embedded one.
Both can be killed and started again on the same port, as a broker restart looks to a client.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from testing.ports import free_port, is_listening
from testing.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
START_S = 15  # a loaded machine starts a Python broker in a few seconds


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


class BrokerProcess:
    """``with BrokerProcess("mosquitto") as broker: broker.url`` -> ``mqtt://127.0.0.1:PORT``.

    :param kind: ``"mosquitto"`` or ``"amqtt"``.
    :param extra_config: more mosquitto.conf lines for the listener (TLS, ACLs, ``user``).
    :param conf: a whole mosquitto.conf to use instead (it names the port itself).
    """

    def __init__(self, kind: str = "mosquitto", port: int | None = None,
                 extra_config: str = "", conf: Path | None = None) -> None:
        if kind not in ("mosquitto", "amqtt"):
            raise ValueError(f"kind must be mosquitto or amqtt, not {kind!r}")
        self.kind = kind
        self.port = port or free_port()
        self.extra_config = extra_config
        self.conf = conf
        self.process: subprocess.Popen | None = None
        self._dir = tempfile.TemporaryDirectory(prefix=f"{kind}-")
        self._log = Path(self._dir.name) / "broker.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> BrokerProcess:
        """Start (again, on the same port, after :meth:`stop` or :meth:`kill`)."""
        if self.kind == "mosquitto":
            binary = mosquitto_path()
            if binary is None:
                raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
            argv = [binary, "-c", str(self.conf or self._write_conf())]
        else:
            argv = [sys.executable, "-m", "testing.amqtt_broker_main", str(self.port)]
        # A file, not a pipe nobody reads: a chatty broker would block on a full pipe.
        with open(self._log, "ab") as log:
            self.process = subprocess.Popen(argv, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_until(self._listening, timeout=START_S, step=0.02,
                       message=f"{self.kind} did not listen on {self.port} within {START_S} s")
        except BaseException:
            self.stop()
            raise
        return self

    def _write_conf(self) -> Path:
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                        f"persistence false\n{self.extra_config}\n")
        return conf

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.kind} exited with {self.process.returncode}: "
                               f"{self._log.read_text(errors='replace')[-2000:]}")
        return is_listening(self.port)

    def kill(self) -> None:
        """Die without a word, as a crashed broker does."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        """Stop for good and remove the broker's files."""
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> BrokerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
