"""The camera seam: what the agent needs from a camera, and the factory that picks one.

Concurrency model: the agent runs one asyncio event loop (see :mod:`robot_agent.agent`), so a
camera is driven with coroutines on that loop. :meth:`Camera.start` returns once the camera has
begun starting (it must not wait for a viewer); :meth:`Camera.stop` returns when everything the
camera started (tasks, threads, child processes, sockets) is gone, and must be safe to call after
a failed or absent start. Neither may block the loop: run blocking work in an executor.

Whenever :attr:`Camera.state` changes the camera calls ``on_change(state)`` *on the loop*; the
agent uses it to republish its retained status (``robot/{name}/status`` carries ``camera``).

Drive data channels: a camera whose viewers can open a WebRTC data channel labelled ``drive``
(only viewers the signaling service admitted have a peer connection at all) calls
``on_drive(viewer, message)`` for each message, ``on_drive_closed(viewer)`` when that channel
closes and ``on_viewer_gone(viewer)`` when the viewer's connection closes, all on the loop;
:meth:`Camera.send_drive` answers one viewer and :meth:`Camera.broadcast_drive` tells every
viewer with an open channel.

Implementations live in modules of this package and are chosen by the config's ``[camera]``
section (``driver = "..."``); :func:`build_camera` is the only place that knows them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robot_agent.camera.settings import CameraSettings

log = logging.getLogger("robot.camera")

#: Values of ``state["state"]``.
STATES = ("off", "starting", "streaming", "error")

StateListener = Callable[[dict[str, Any]], None]
DRIVE_LABEL = "drive"
#: install.sh's note beside ``driver = "none"`` when it turned video off (``doctor`` reads it).
NO_CAMERA = "no camera found on this Pi"


class Camera:
    """Base class of every camera. Subclasses override :meth:`start`, :meth:`stop`, ``state``.

    :param on_change: called with the new :attr:`state` dict whenever it changes.
    """

    driver = "none"
    drive_channel = False  # whether viewers can drive over a data channel of this camera

    def __init__(self, on_change: StateListener | None = None) -> None:
        self.on_change: StateListener | None = on_change
        self.on_drive: Callable[[str, str | bytes], None] | None = None
        self.on_viewer_gone: Callable[[str], None] | None = None
        self.on_drive_closed: Callable[[str], None] | None = None

    def send_drive(self, viewer: str, payload: dict[str, Any]) -> bool:
        """Send ``payload`` (JSON) on ``viewer``'s drive channel; False if it has none open."""
        return False

    def broadcast_drive(self, payload: dict[str, Any]) -> int:
        """Send ``payload`` to every open drive channel; returns how many."""
        return 0

    def drive_open(self, viewer: str) -> bool:
        """Whether ``viewer``'s drive channel is open (not closing: a page that closed it goes
        on over HTTP at once, sooner than the channel's close completes)."""
        return False

    @property
    def state(self) -> dict[str, Any]:
        """``{"state": "off|starting|streaming|error", "viewers": 0}`` plus driver details."""
        return {"state": "off", "viewers": 0}

    async def start(self) -> None:
        """Begin streaming (or waiting for viewers)."""

    async def stop(self) -> None:
        """Stop and release everything :meth:`start` took."""

    def _changed(self) -> None:
        """Tell the agent the state changed; subclasses call this on the loop."""
        if self.on_change is not None:
            self.on_change(self.state)


class NullCamera(Camera):
    """No camera: always ``off``."""


class FailedCamera(Camera):
    """A camera that could not even be built (its driver's modules are missing): always
    ``error`` with the reason, so the status and ``doctor`` say it while driving goes on."""

    def __init__(self, driver: str, reason: str) -> None:
        super().__init__()
        self.driver = driver
        self.reason = reason

    @property
    def state(self) -> dict[str, Any]:
        return {"state": "error", "viewers": 0, "error": self.reason}


def build_camera(section: CameraSettings | Mapping[str, Any] | None, robot_name: str, *,
                 simulate: bool, config_file: str = "<memory>") -> Camera:
    """The camera the ``[camera]`` config section asks for.

    :param section: the config's ``[camera]`` (a raw table is read as the config file would be;
        absent = no camera).
    :param robot_name: the robot's name, which is also its signaling channel name.
    :param simulate: running with ``--simulate`` (no hardware).
    :param config_file: named in errors.
    :raises ConfigError: naming a bad key, or what the Pi cannot stream.
    """
    from robot_agent.camera.settings import CameraSettings, read_section, resolve

    settings = section if isinstance(section, CameraSettings) else read_section(
        section or {}, config_file)
    driver = settings.driver
    if driver == "none":
        return NullCamera()
    settings = resolve(settings, robot_name, simulate=simulate, config_file=config_file)
    try:
        if driver == "aiortc":
            from robot_agent.camera.aiortc_camera import AiortcCamera

            return AiortcCamera(settings)
        from robot_agent.camera.kvs_c_sdk import KvsCSdkCamera

        return KvsCSdkCamera(settings)
    except ImportError as exc:  # video is optional: the robot still drives
        log.error("camera driver %s cannot load (%s); driving without video. Install the "
                  "camera support: sudo ./install.sh --camera", driver, exc)
        return FailedCamera(driver, f"{exc.name or exc} is not installed "
                                    f"(sudo ./install.sh --camera)")
