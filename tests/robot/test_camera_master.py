"""The aiortc master and aiortc viewers, through the real local signaling relay on loopback."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging

import aiohttp
import pytest
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from robot_agent.camera.channel import LocalChannel
from robot_agent.camera.master import WebRtcMaster
from robot_agent.camera.pattern import TestPatternTrack, bars_yuv420

from testing.kvs_relay import TOKEN, Relay, b64, until
from tools.stack.signaling import channel_arn

pytestmark = pytest.mark.timeout(60)



async def watch(relay: Relay, client_id: str, frames: int = 5) -> list[tuple[int, int]]:
    """Be a KVS viewer: offer, take the answer, return the sizes of the first frames."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    got: asyncio.Future = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track) -> None:
        if not got.done():
            got.set_result(track)

    query = {"X-Amz-ChannelARN": channel_arn("sts-pi"), "X-Amz-ClientId": client_id,
             "token": TOKEN}
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(relay.url, params=query) as ws:
        await pc.setLocalDescription(await pc.createOffer())
        offer = {"type": "offer", "sdp": pc.localDescription.sdp}
        await ws.send_str(json.dumps({"action": "SDP_OFFER", "messagePayload": b64(offer)}))
        message = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
        assert message["messageType"] == "SDP_ANSWER"
        answer = json.loads(base64.b64decode(message["messagePayload"]))
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        track = await asyncio.wait_for(got, 10)
        sizes = []
        for _ in range(frames):
            frame = await asyncio.wait_for(track.recv(), 10)
            sizes.append((frame.width, frame.height))
    await pc.close()
    return sizes



def test_pattern_frame_is_the_requested_size():
    frame = bars_yuv420(64, 48)
    assert frame.shape == (72, 64)
    assert frame[0, 0] == 235 and frame[0, 63] == 16  # white bar left, black bar right
    with pytest.raises(ValueError):
        bars_yuv420(63, 48)
    with pytest.raises(ValueError):
        TestPatternTrack(64, 48, fps=0)


def test_viewers_get_frames_and_master_survives_a_relay_restart():
    async def scenario():
        relay = Relay()
        await relay.start()
        states = []
        master = WebRtcMaster(LocalChannel(relay.url, TOKEN, "sts-pi"),
                              lambda: TestPatternTrack(320, 240, fps=15),
                              on_change=states.append, backoff=(0.2, 1.0))
        task = asyncio.create_task(master.run())
        try:
            await until(lambda: master.state["state"] == "streaming")
            await until(lambda: relay.relay.state()["sts-pi"]["master"])
            first = asyncio.create_task(watch(relay, "viewer-1", frames=5))
            second = asyncio.create_task(watch(relay, "viewer-2", frames=5))
            sizes = await asyncio.gather(first, second)
            assert sizes == [[(320, 240)] * 5, [(320, 240)] * 5]
            assert any(s["viewers"] >= 1 for s in states)

            # the relay goes away and comes back on the same port: the master reconnects
            await relay.stop()
            await until(lambda: master.state["state"] == "error")
            await relay.start()
            await until(lambda: master.connections >= 2)
            await until(lambda: relay.relay.state()["sts-pi"]["master"])
            assert await watch(relay, "viewer-3", frames=3) == [(320, 240)] * 3
        finally:
            await master.close()
            await asyncio.wait_for(task, 5)
            await relay.stop()
        assert master.state == {"state": "off", "viewers": 0}
        assert [s["state"] for s in states][:2] == ["starting", "streaming"]

    logging.getLogger("aioice").setLevel(logging.WARNING)
    asyncio.run(scenario())


def test_build_camera_streams_the_test_pattern_through_the_local_relay():
    from robot_agent.camera import build_camera

    async def scenario():
        relay = Relay()
        await relay.start()
        section = {"driver": "aiortc", "signaling_url": relay.url, "signaling_token": TOKEN,
                   "width": 160, "height": 120}
        camera = build_camera(section, "sts-pi", simulate=True)
        seen = []
        camera.on_change = seen.append
        await camera.start()
        try:
            await until(lambda: camera.state["state"] == "streaming")
            assert await watch(relay, "browser-1", frames=2) == [(160, 120)] * 2
        finally:
            await camera.stop()
            await relay.stop()
        return seen, camera.state

    seen, final = asyncio.run(scenario())
    assert final == {"state": "off", "viewers": 0}
    assert {"state": "streaming", "viewers": 0} in seen and seen[-1]["state"] == "off"


def test_go_away_makes_the_master_reconnect_with_a_fresh_url():
    """KVS announces the end of a connection with GO_AWAY: the master prepares and reconnects."""

    class CountingChannel(LocalChannel):
        prepared = 0

        async def prepare(self):
            CountingChannel.prepared += 1
            return await super().prepare()

    async def scenario():
        connections = []

        async def handler(request):
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            connections.append(request.query["X-Amz-ChannelARN"])
            if len(connections) == 1:
                await ws.send_str(json.dumps({"messageType": "GO_AWAY", "messagePayload": ""}))
            async for _ in ws:
                pass
            return ws

        app = web.Application()
        app.router.add_get("/signaling", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        channel = CountingChannel(f"ws://127.0.0.1:{port}/signaling", TOKEN, "sts-pi")
        master = WebRtcMaster(channel, lambda: TestPatternTrack(64, 48), backoff=(0.1, 0.2))
        task = asyncio.create_task(master.run())
        try:
            await until(lambda: len(connections) >= 2)
        finally:
            await master.close()
            await asyncio.wait_for(task, 5)
            await runner.cleanup()
        return connections

    connections = asyncio.run(scenario())
    assert CountingChannel.prepared >= 2
    assert connections[0] == connections[1] == channel_arn("sts-pi")


class DyingPattern(TestPatternTrack):
    """The test pattern, until frame ``after``: then the driver fails as picamera2 can."""

    def __init__(self, after: int) -> None:
        super().__init__(160, 120, fps=30)
        self.after = after

    async def recv(self):
        if self._count >= self.after:
            raise RuntimeError("Camera frontend has timed out!")
        return await super().recv()


@pytest.mark.parametrize("failure", ["at_start", "mid_stream"])
def test_camera_failure_is_reported_while_commands_keep_driving(failure, monkeypatch):
    """The real agent, camera and relay in one loop: the source fails, driving goes on."""
    from robot_agent.agent import Agent
    from robot_agent.camera import build_camera, sources
    from robot_agent.drive import Drive, mock_factory
    from robot_agent.mqtt_link import MemoryLink

    from testing.robot_harness import FakeClock, agent_config, command

    def make_track(settings):
        if failure == "at_start":
            raise RuntimeError("Failed to acquire camera: Device or resource busy")
        return DyingPattern(after=10)

    monkeypatch.setattr(sources, "make_track", make_track)

    async def scenario():
        relay = Relay()
        await relay.start()
        config = agent_config("mqtt://127.0.0.1:1", "sts-pi")
        factory = mock_factory()
        drive = Drive(config.motors, factory)
        link = MemoryLink()
        camera = build_camera({"driver": "aiortc", "signaling_url": relay.url,
                               "signaling_token": TOKEN}, "sts-pi", simulate=True)
        clock = FakeClock()
        agent = Agent(config, drive, link, camera, clock_ms=clock.wall_ms, clock=clock)
        run = asyncio.create_task(agent.run())
        try:
            await until(lambda: camera.state["state"] == "streaming")
            await until(lambda: relay.relay.state()["sts-pi"]["master"])
            viewer = asyncio.create_task(watch(relay, "viewer-1", frames=30))
            moved = 0
            while camera.state["state"] != "error":
                link.inject("robot/sts-pi/cmd", command("forward", 0.5, 1000))
                await until(lambda: factory.pin(20).state > 0, 2)
                moved += 1
                assert moved < 100, "the camera failure was never reported"
                await asyncio.sleep(0.05)
            viewer.cancel()  # its video stopped (or never came): that is the point
            with contextlib.suppress(BaseException):
                await viewer
            status = link.messages("robot/sts-pi/status")[-1]
            assert status["camera"]["state"] == "error" and "RuntimeError" in \
                status["camera"]["error"]
            link.inject("robot/sts-pi/cmd", command("left", 0.5, 1000))
            await until(lambda: factory.pin(19).state > 0, 2)
            assert run.done() is False and agent.error is None
        finally:
            agent.request_stop()
            assert await asyncio.wait_for(run, 15) == 0
            drive.close()
            await relay.stop()

    logging.getLogger("aioice").setLevel(logging.WARNING)
    asyncio.run(scenario())


def test_offers_that_never_connect_cannot_hold_the_viewer_slots():
    """#12 item 6: ten bogus SDP offers filled every slot for over 70 s, refusing real viewers."""

    async def bogus_offer(ws, client_id: str) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        offer = {"type": "offer", "sdp": pc.localDescription.sdp}
        await pc.close()  # nobody will ever answer the robot's connectivity checks
        await ws.send_str(json.dumps({"action": "SDP_OFFER", "messagePayload": b64(offer)}))

    async def scenario():
        relay = Relay()
        await relay.start()
        master = WebRtcMaster(LocalChannel(relay.url, TOKEN, "sts-pi"),
                              lambda: TestPatternTrack(160, 120, fps=15), max_viewers=3,
                              backoff=(0.2, 1.0), connect_s=2.0)
        task = asyncio.create_task(master.run())
        sockets = []
        try:
            await until(lambda: relay.relay.state()["sts-pi"]["master"])
            async with aiohttp.ClientSession() as session:
                for n in range(3):
                    query = {"X-Amz-ChannelARN": channel_arn("sts-pi"),
                             "X-Amz-ClientId": f"bogus-{n}", "token": TOKEN}
                    ws = await session.ws_connect(relay.url, params=query)
                    sockets.append(ws)
                    await bogus_offer(ws, f"bogus-{n}")
                await until(lambda: len(master.peers) == 3)
                # Full of offers that will never connect: a real viewer still gets in at once.
                assert await watch(relay, "real-viewer", frames=2) == [(160, 120)] * 2
                # And the strangers' slots are freed once their time is up.
                await until(lambda: not any(v.startswith("bogus") for v in master.peers), 10)
                for ws in sockets:
                    await ws.close()
        finally:
            await master.close()
            await asyncio.wait_for(task, 5)
            await relay.stop()

    logging.getLogger("aioice").setLevel(logging.WARNING)
    asyncio.run(scenario())


def test_three_viewers_share_one_encoder():
    """Each frame is encoded once whatever the number of viewers, in H.264 for all."""

    async def scenario():
        relay = Relay()
        await relay.start()
        master = WebRtcMaster(LocalChannel(relay.url, TOKEN, "sts-pi"),
                              lambda: TestPatternTrack(160, 120, fps=30), backoff=(0.2, 1.0))
        task = asyncio.create_task(master.run())
        try:
            await until(lambda: relay.relay.state()["sts-pi"]["master"])
            sizes = await asyncio.gather(*(watch(relay, f"viewer-{n}", frames=20)
                                           for n in range(3)))
            assert sizes == [[(160, 120)] * 20] * 3
            encoder = master._encoder
            assert encoder is not None
            # 3 x 20 frames watched; each viewer joined a little later than the first.
            assert 20 <= encoder.frames < 40
            # The packets are H.264: a viewer that negotiated anything else decodes nothing.
        finally:
            await master.close()
            await asyncio.wait_for(task, 5)
            await relay.stop()

    logging.getLogger("aioice").setLevel(logging.WARNING)
    asyncio.run(scenario())
