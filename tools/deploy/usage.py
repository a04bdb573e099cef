"""What the shipped code does, counted: requests and messages for a stretch of activity.

The rates come from the code and the configuration ``deploy`` ships, read where they are set:
the PyPortal's refresh (``settings.toml`` as :mod:`tools.deploy.provision` writes it) and the
photo rotation (``REFRESH_S`` in ``cloud/template.yaml``), the BMP size for the device's depth
(``device/pyportal/app.py``), the robot's heartbeat (the deploy's ``config.toml``) and report
interval (:mod:`robot_agent.report`), the page's command pacing (``cloud/web/drive.js``).
The page's status reads follow :data:`PAGE_STATUS`, the schedule the page implements.

:class:`Activity` says what happened (refreshes, seconds of driving, video sessions...);
:func:`events` turns it into what the services see. The monthly estimate
(:mod:`tools.deploy.cost`) and the scripted minute on the local stack
(``tests/tools/test_deploy_minute.py``) both go through :func:`events`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot_agent import report

from cloud.bitmap.bmp import stride
from tools.deploy import provision, template

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "cloud" / "web"
PYPORTAL = ROOT / "device" / "pyportal"

#: How the control page reads ``GET /robot/{name}/status`` (``cloud/web/poll.js``, read from
#: there: :func:`page_status`): never while its video connection's data channel is open (the
#: robot sends its state there), never while the tab is hidden; visible, without the channel,
#: while driving or within ``settle_ms`` of the last command: every ``driving_ms`` (the robot's
#: status changes at most once a report interval then); otherwise every ``idle_min_ms``,
#: doubling after each unchanged answer up to ``idle_max_ms``.
PAGE_STATUS_CONSTANTS = {"driving_ms": "DRIVING_POLL_MS", "settle_ms": "SETTLE_MS",
                         "idle_min_ms": "IDLE_MIN_MS", "idle_max_ms": "IDLE_MAX_MS"}
#: Reads before the data channel opens, per video session (sign-in, robot picked).
PAGE_READS_BEFORE_CHANNEL = 2
#: Files a page load fetches through CloudFront (index, scripts, styles, config.json).
PAGE_FILES = 16
PAGE_BYTES = 600_000
#: Signaling messages per video session: the viewer's offer and trickled ICE candidates, the
#: robot's answer (aiortc puts its candidates in it), a reconnect's worth of margin.
SIGNALING_PER_SESSION = 20
#: ``GET /mars`` answer, bytes (a photo and the weather; measured on the local stack).
MARS_JSON_BYTES = 3_000
#: Messages of each kind (status, telemetry) a hold of the controls adds to the report
#: interval's pace: the first change goes at once, and the stop at the end takes the place of
#: the interval it falls in (measured on the local stack: a hold of H seconds is 1 + floor(H)
#: + 1 messages of each kind, H + 1.5 on average).
PER_HOLD = 1.5
#: Status and telemetry messages a video session causes at once: the viewer joins and leaves,
#: the lease is granted and lapses (measured on the local stack).
STATUS_PER_SESSION = 4
EVENTS_PER_SESSION = 1


def _js_constant(file: str, name: str) -> float:
    text = (WEB / file).read_text(encoding="utf-8")
    found = re.search(rf"\b{name}\s*=\s*([0-9_]+)", text)
    if not found:
        raise ValueError(f"cloud/web/{file} no longer defines {name}; update tools/deploy/usage.py")
    return float(found.group(1).replace("_", ""))


def page_status() -> dict[str, float]:
    """The page's status-read schedule, from ``cloud/web/poll.js``."""
    return {key: _js_constant("poll.js", name) for key, name in PAGE_STATUS_CONSTANTS.items()}


PAGE_STATUS = page_status()


def bmp_bytes(width: int, height: int, depth: int) -> int:
    """The size of the BMP ``cloud.bitmap`` writes for this screen and depth."""
    between = 4 * 2 ** depth if depth <= 8 else 12  # palette, or the RGB565 masks
    return 14 + 40 + between + stride(width, depth) * height


def device_depth() -> int:
    """The bits per pixel the PyPortal asks for by default."""
    text = (PYPORTAL / "app.py").read_text(encoding="utf-8")
    found = re.search(r"^DEPTH\s*=\s*(\d+)", text, re.MULTILINE)
    return int(found.group(1)) if found else 8


def rotation_s(source: dict[str, Any] | None = None) -> float:
    """Seconds each photo is shown for (``REFRESH_S`` of the functions in the template)."""
    source = source if source is not None else template.load()
    env = source["Globals"]["Function"]["Environment"]["Variables"]
    return float(env["REFRESH_S"])


@dataclass(frozen=True)
class Rates:
    """What the shipped code does per unit of activity."""

    refresh_s: float  # a PyPortal's refresh period
    rotation_s: float  # a new photo this often
    bitmap_bytes: int
    heartbeat_s: float  # an idle robot's status
    report_s: float  # a driven robot's status and telemetry
    analog_ms: float  # the page sends a changed stick this often at most
    repeat_ms: float  # ... and repeats a held command this often

    @classmethod
    def shipped(cls, source: dict[str, Any] | None = None) -> Rates:
        return cls(refresh_s=provision.PYPORTAL_REFRESH_MINUTES * 60,
                   rotation_s=rotation_s(source),
                   bitmap_bytes=bmp_bytes(320, 240, device_depth()),
                   heartbeat_s=provision.HEARTBEAT_S, report_s=report.REPORT_S,
                   analog_ms=_js_constant("drive.js", "ANALOG_MS"),
                   repeat_ms=_js_constant("drive.js", "REPEAT_MS"))

    @property
    def bitmaps_per_refresh(self) -> float:
        """A new photo is downloaded when the rotation moved on since the last refresh."""
        return min(1.0, self.refresh_s / self.rotation_s)

    @property
    def commands_per_s(self) -> float:
        """A joystick that keeps moving: a changed command every ``analog_ms``."""
        return 1000 / self.analog_ms


@dataclass
class Activity:
    """What happened in a stretch of time, summed over devices."""

    refreshes: float = 0  # PyPortal refreshes
    retries: float = 0  # ... tried again after a failure (the board's jittered back-off)
    held_s: float = 0  # seconds a stick was moving, commands over the data channel
    held_http_s: float = 0  # ... over HTTP (no data channel)
    releases: float = 0  # controls let go (each a stop)
    idle_robot_s: float = 0  # seconds robots were connected and not moving
    polled_idle_s: float = 0  # seconds a visible page had no channel and nobody drove
    sessions: float = 0  # video sessions (sign-in to leaving)
    session_s: float = 0  # their length, summed
    page_loads: float = 0
    connects: float = 0  # robot MQTT connections
    turn_share: float = 0.0  # of session time relayed through TURN

    def plus(self, other: Activity) -> Activity:
        return Activity(**{f: getattr(self, f) + getattr(other, f)
                           for f in self.__dataclass_fields__ if f != "turn_share"},
                        turn_share=max(self.turn_share, other.turn_share))


def idle_reads(seconds: float) -> float:
    """Status reads of a visible page without the channel over ``seconds`` of idling: one at
    once, then after 2, 4, 8 ... seconds, then every ``idle_max_ms``."""
    if seconds <= 0:
        return 0.0
    low, high = PAGE_STATUS["idle_min_ms"] / 1000, PAGE_STATUS["idle_max_ms"] / 1000
    reads, at, wait = 1.0, 0.0, low
    while wait < high and at + wait <= seconds:
        reads, at, wait = reads + 1, at + wait, wait * 2
    return reads + max(0.0, seconds - at) // high if wait >= high else reads


@dataclass
class Events:
    """What the services see, for :class:`Activity`."""

    mars: float = 0  # GET /mars from PyPortals
    bitmaps: float = 0  # bitmap downloads from PyPortals
    status_reads: float = 0  # GET /robot/{name}/status
    http_commands: float = 0  # POST /robot/{name}/cmd
    robot_status: float = 0  # retained status messages the robots publish
    robot_telemetry: float = 0  # telemetry messages the robots publish
    signaling: float = 0
    turn_minutes: float = 0
    page_requests: float = 0
    page_bytes: float = 0
    connects: float = 0

    @property
    def robot_messages(self) -> float:
        return self.robot_status + self.robot_telemetry


def events(activity: Activity, rates: Rates) -> Events:
    """What the services see for ``activity``, as the shipped code behaves."""
    held = activity.held_s + activity.held_http_s
    # while the stick moves: one status and one telemetry message a report interval
    driving = held / rates.report_s + activity.releases * PER_HOLD
    status = (driving + activity.sessions * STATUS_PER_SESSION + activity.connects
              + activity.idle_robot_s / rates.heartbeat_s)
    telemetry = driving + activity.sessions * EVENTS_PER_SESSION
    http_share = activity.held_http_s / held if held else 0.0
    reads = activity.held_http_s / (PAGE_STATUS["driving_ms"] / 1000)
    reads += idle_reads(activity.polled_idle_s) + activity.sessions * PAGE_READS_BEFORE_CHANNEL
    return Events(
        mars=activity.refreshes + activity.retries,
        bitmaps=activity.refreshes * rates.bitmaps_per_refresh,
        status_reads=reads,
        http_commands=activity.held_http_s * rates.commands_per_s + activity.releases * http_share,
        robot_status=status,
        robot_telemetry=telemetry,
        signaling=activity.sessions * SIGNALING_PER_SESSION,
        turn_minutes=activity.session_s / 60 * activity.turn_share,
        page_requests=activity.page_loads * PAGE_FILES,
        page_bytes=activity.page_loads * PAGE_BYTES,
        connects=activity.connects,
    )
