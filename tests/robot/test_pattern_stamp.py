"""The test pattern's time stamp: drawn into each frame, read back after VP8 over WebRTC."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from robot_agent.camera.channel import LocalChannel
from robot_agent.camera.master import WebRtcMaster
from robot_agent.camera.pattern import (
    STAMP_BLOCK,
    STAMP_HEIGHT,
    STAMP_MARK,
    STAMP_ROW,
    TestPatternTrack,
    bars_yuv420,
    draw_stamp,
    stamp_bits,
)

from testing.kvs_relay import TOKEN, Relay, b64, until
from tools.stack.signaling import channel_arn

pytestmark = pytest.mark.timeout(60)


def read_stamp(luma) -> int | None:
    """The inverse of ``draw_stamp`` on a luma plane (what bench/drive.py does in the browser)."""
    row = STAMP_ROW + STAMP_HEIGHT // 2
    bits = [int(luma[row][i * STAMP_BLOCK + STAMP_BLOCK // 2] > 128)
            for i in range(len(stamp_bits(0)))]
    mark, value, parity = bits[:len(STAMP_MARK)], bits[len(STAMP_MARK):-1], bits[-1]
    if tuple(mark) != STAMP_MARK or sum(value) % 2 != parity:
        return None
    return int("".join(map(str, value)), 2)


def test_stamp_round_trip_and_small_frames_are_left_alone():
    frame = bars_yuv420(640, 480)
    draw_stamp(frame, 640, 480, 1_796_039_335_389)
    assert read_stamp(frame) == 1_796_039_335_389
    small = bars_yuv420(64, 48)
    before = small.copy()
    draw_stamp(small, 64, 48, 1)
    assert (small == before).all()


def test_stamp_survives_vp8_over_webrtc():
    async def scenario():
        relay = Relay()
        await relay.start()
        master = WebRtcMaster(LocalChannel(relay.url, TOKEN, "sts-pi"),
                              lambda: TestPatternTrack(640, 480, fps=15), backoff=(0.2, 1.0))
        task = asyncio.create_task(master.run())
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            await until(lambda: relay.relay.state()["sts-pi"]["master"])
            pc.addTransceiver("video", direction="recvonly")
            got = asyncio.get_running_loop().create_future()
            pc.on("track", lambda track: got.done() or got.set_result(track))
            query = {"X-Amz-ChannelARN": channel_arn("sts-pi"), "X-Amz-ClientId": "v1",
                     "token": TOKEN}
            async with aiohttp.ClientSession() as session, \
                    session.ws_connect(relay.url, params=query) as ws:
                await pc.setLocalDescription(await pc.createOffer())
                offer = {"type": "offer", "sdp": pc.localDescription.sdp}
                await ws.send_str(json.dumps({"action": "SDP_OFFER",
                                              "messagePayload": b64(offer)}))
                answer = json.loads(base64.b64decode(json.loads(
                    (await asyncio.wait_for(ws.receive(), 10)).data)["messagePayload"]))
                await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"],
                                                                    answer["type"]))
                track = await asyncio.wait_for(got, 10)
                stamps = []
                for _ in range(10):
                    frame = await asyncio.wait_for(track.recv(), 10)
                    stamps.append((read_stamp(frame.to_ndarray(format="gray")),
                                   int(time.time() * 1000)))
            read = [(s, now) for s, now in stamps if s is not None]
            assert len(read) >= 8  # VP8 at its starting bitrate keeps the blocks legible
            assert all(0 <= now - s < 2000 for s, now in read)  # a real, recent time
            assert [s for s, _ in read] == sorted(s for s, _ in read)
        finally:
            await pc.close()
            await master.close()
            await asyncio.wait_for(task, 10)
            await relay.stop()

    asyncio.run(scenario())
