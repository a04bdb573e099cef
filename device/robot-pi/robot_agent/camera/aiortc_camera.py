"""``driver = "aiortc"``: the pure-Python KVS WebRTC master as the agent's camera."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from robot_agent.camera import Camera, StateListener
from robot_agent.camera.channel import KvsChannel, LocalChannel
from robot_agent.camera.master import Channel, WebRtcMaster
from robot_agent.camera.settings import CameraSettings


def make_channel(settings: CameraSettings) -> Channel:
    """The local relay when ``signaling_url`` is set, else KVS with IoT credentials."""
    if settings.local:
        return LocalChannel(settings.signaling_url, settings.signaling_token, settings.channel)
    from robot_agent.camera.iot_credentials import IotCredentialsProvider

    provider = IotCredentialsProvider(settings.credentials_endpoint, settings.role_alias,
                                      settings.channel, settings.cert, settings.key, settings.ca)
    return KvsChannel(settings.channel, settings.region,
                      lambda: provider.boto3_session(settings.region))


class AiortcCamera(Camera):
    """Stream the configured source to the channel's viewers with aiortc.

    :param channel: overrides :func:`make_channel` (tests).
    """

    driver = "aiortc"
    drive_channel = True

    def __init__(self, settings: CameraSettings, on_change: StateListener | None = None, *,
                 channel: Channel | None = None) -> None:
        super().__init__(on_change)
        self.settings = settings
        self.channel = channel
        self.master: WebRtcMaster | None = None
        self._task: asyncio.Task | None = None

    @property
    def state(self) -> dict[str, Any]:
        if self.master is None:
            return {"state": "off", "viewers": 0}
        return dict(self.master.state)

    async def start(self) -> None:
        from robot_agent.camera.sources import make_track

        channel = self.channel or make_channel(self.settings)
        self.master = WebRtcMaster(channel, lambda: make_track(self.settings),
                                   on_change=lambda _state: self._changed(),
                                   max_viewers=self.settings.max_viewers,
                                   fps=self.settings.fps, codec=self.settings.encoder)
        self.master.on_drive = lambda viewer, data: self.on_drive and self.on_drive(viewer, data)
        self.master.on_viewer_gone = (
            lambda viewer: self.on_viewer_gone and self.on_viewer_gone(viewer))
        self.master.on_drive_closed = (
            lambda viewer: self.on_drive_closed and self.on_drive_closed(viewer))
        self._task = asyncio.create_task(self.master.run())

    def send_drive(self, viewer: str, payload: dict[str, Any]) -> bool:
        return self.master is not None and self.master.send(viewer, payload)

    def viewer_user(self, viewer: str) -> str | None:
        return self.master.user(viewer) if self.master is not None else None

    def drive_open(self, viewer: str) -> bool:
        return self.master is not None and self.master.drive_open(viewer)

    def broadcast_drive(self, payload: dict[str, Any]) -> int:
        return self.master.broadcast(payload) if self.master is not None else 0

    async def stop(self) -> None:
        if self.master is not None:
            await self.master.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)
            self._task = None
