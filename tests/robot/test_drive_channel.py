"""Driving over the video connection: a real aiortc viewer, the real relay, the real agent."""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from robot_agent.agent import Agent
from robot_agent.camera.aiortc_camera import AiortcCamera
from robot_agent.camera.channel import LocalChannel
from robot_agent.camera.settings import parse_settings
from robot_agent.drive import Drive, mock_factory
from robot_agent.mqtt_link import MemoryLink

from testing.kvs_relay import TOKEN, Relay, b64, until
from testing.robot_harness import agent_config
from tools.stack.signaling import channel_arn

pytestmark = pytest.mark.timeout(60)


class Viewer:
    """A KVS viewer with a ``drive`` data channel (and, optionally, one the robot refuses)."""

    def __init__(self, relay: Relay, client_id: str, extra_label: str | None = None) -> None:
        self.relay, self.client_id, self.extra_label = relay, client_id, extra_label
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.messages: list[dict] = []
        self.extra_closed = asyncio.Event()

    async def connect(self) -> None:
        self.pc.addTransceiver("video", direction="recvonly")
        self.channel = self.pc.createDataChannel("drive", ordered=True, maxPacketLifeTime=250)
        self.channel.on("message", lambda text: self.messages.append(json.loads(text)))
        opened = asyncio.Event()
        self.channel.on("open", opened.set)
        if self.extra_label:
            extra = self.pc.createDataChannel(self.extra_label)
            extra.on("close", self.extra_closed.set)
        query = {"X-Amz-ChannelARN": channel_arn("sts-pi"), "X-Amz-ClientId": self.client_id,
                 "token": TOKEN}
        async with aiohttp.ClientSession() as session, \
                session.ws_connect(self.relay.url, params=query) as ws:
            await self.pc.setLocalDescription(await self.pc.createOffer())
            offer = {"type": "offer", "sdp": self.pc.localDescription.sdp}
            await ws.send_str(json.dumps({"action": "SDP_OFFER", "messagePayload": b64(offer)}))
            message = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
            answer = json.loads(base64.b64decode(message["messagePayload"]))
            await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"],
                                                                     answer["type"]))
            await asyncio.wait_for(opened.wait(), 10)

    def send(self, body: dict) -> None:
        self.channel.send(json.dumps(body))

    def replies(self) -> list[dict]:
        return [m for m in self.messages if "reply" in m]

    def states(self) -> list[dict]:
        return [m["state"] for m in self.messages if "state" in m]


def test_viewer_drives_over_the_data_channel_and_sees_state():
    async def scenario():
        relay = Relay(user_of={TOKEN: "ann"}.get)  # the relay names who signed viewers in
        await relay.start()
        factory = mock_factory()
        config = agent_config("mqtt://127.0.0.1:1", name="sts-pi", driving={"lease_s": 5})
        settings = parse_settings({"driver": "aiortc", "signaling_url": relay.url,
                                   "signaling_token": TOKEN, "width": 160, "height": 120},
                                  "sts-pi", simulate=True)
        drive = Drive(config.motors, factory)
        camera = AiortcCamera(settings, channel=LocalChannel(relay.url, TOKEN, "sts-pi"))
        agent = Agent(config, drive, MemoryLink(), camera)
        task = asyncio.create_task(agent.run())
        pins = lambda: {p: float(factory.pin(p).state) for p in drive.pins}  # noqa: E731
        first = Viewer(relay, "viewer-a", extra_label="chat")
        second = Viewer(relay, "viewer-b")
        try:
            await until(lambda: relay.relay.state()["sts-pi"]["master"])
            await first.connect()
            await second.connect()
            await asyncio.wait_for(first.extra_closed.wait(), 10)  # only "drive" is kept
            assert set(camera.master.drive_channels) == {"viewer-a", "viewer-b"}

            first.send({"action": "drive", "left": 0.5, "right": 0.25, "duration_ms": 300})
            await until(lambda: pins()[20] == 0.5 and pins()[26] == 0.25, 5)
            await until(lambda: first.replies(), 5)
            assert first.replies()[0]["reply"] == "applied"
            # the driver is the person the relay signed the viewer in as, on that page: the
            # same driver as that page's HTTP commands; their other page is another one
            driver = agent.lease.holder.driver
            assert (driver.user, driver.client) == ("ann", "viewer-a")
            # every viewer sees the motors and who drives
            await until(lambda: any(s["motors"]["left"] == 0.5 and s["driver"]
                                    and s["driver"]["client"] == "viewer-a"
                                    for s in second.states()), 5)
            second.send({"action": "left", "speed": 1.0})
            await until(lambda: second.replies(), 5)
            assert second.replies()[0]["reason"] == "busy"
            await until(lambda: not any(pins().values()), 5)  # the deadman still holds
            assert pins()[19] == 0.0  # the busy "left" never ran

            await first.pc.close()  # the driver leaves: its lease ends with its connection
            await until(lambda: agent.lease.holder is None, 10)
            second.send({"action": "right", "speed": 0.5, "duration_ms": 300})
            await until(lambda: pins()[20] == 0.5 and pins()[21] == 0.5, 5)
        finally:
            await second.pc.close()
            await first.pc.close()
            agent.request_stop()
            assert await asyncio.wait_for(task, 15) == 0
            drive.close()
            await relay.stop()

    asyncio.run(scenario())


def test_a_viewer_the_relay_did_not_admit_gets_no_connection():
    async def scenario():
        relay = Relay()
        await relay.start()
        try:
            query = {"X-Amz-ChannelARN": channel_arn("sts-pi"), "X-Amz-ClientId": "intruder",
                     "token": "guessed"}
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(relay.url, params=query)
            assert refused.value.status == 401
        finally:
            await relay.stop()

    asyncio.run(scenario())
