"""The local KVS signaling relay over real WebSockets on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tools.stack.signaling import (
    MASTER_REPLACED,
    SignalingError,
    SignalingRelay,
    channel_arn,
    channel_name,
    parse_message,
)

TOKEN = "relay-token"


def b64(obj) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


@asynccontextmanager
async def relay_server(channels=("sts-pi", "rover-2"), **options):
    relay = SignalingRelay(channels, TOKEN, **options)
    app = web.Application()
    relay.register(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        try:
            yield relay, server, session
        finally:
            await relay.close()
            await server.close()


def url(server, name="sts-pi", client_id=None, token=TOKEN):
    params = {"X-Amz-ChannelARN": channel_arn(name), "token": token}
    if client_id:
        params["X-Amz-ClientId"] = client_id
    return server.make_url("/signaling").with_query(params)


async def receive(ws, timeout=5.0):
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


def test_channel_name_round_trip_and_refusals():
    assert channel_name(channel_arn("sts-pi")) == "sts-pi"
    assert channel_name("arn:aws:kinesisvideo:local:000000000000:channel/bot/1700000000000"
                        ) == "bot"
    # Another region or account names a channel the local relay does not have (#12, low).
    for bad in ("", "sts-pi", "arn:aws:s3:::bucket", "arn:aws:kinesisvideo:local:0:channel/x/0",
                "arn:aws:kinesisvideo:us-east-1:123456789012:channel/bot/1700000000000",
                "arn:aws:kinesisvideo:local:123456789012:channel/sts-pi/0"):
        with pytest.raises(SignalingError):
            channel_name(bad)


def test_parse_message_refuses_bad_input():
    good = {"action": "SDP_OFFER", "messagePayload": b64({"type": "offer", "sdp": "v=0"})}
    assert parse_message(json.dumps(good), from_master=False)["action"] == "SDP_OFFER"
    with pytest.raises(SignalingError, match="recipientClientId"):
        parse_message(json.dumps(good), from_master=True)
    for bad in ("not json", "[]", json.dumps({**good, "action": "HELLO"}),
                json.dumps({**good, "messagePayload": ""}),
                json.dumps({**good, "messagePayload": "A" * 20000})):
        with pytest.raises(SignalingError):
            parse_message(bad, from_master=False)


def test_wrong_token_is_401_and_unknown_channel_is_404():
    async def scenario():
        async with relay_server() as (_, server, session):
            for target, status in ((url(server, token="nope"), 401),
                                   (url(server, name="ghost"), 404),
                                   (url(server, client_id="AWS_x"), 400)):
                with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                    await session.ws_connect(target)
                assert info.value.status == status
            no_arn = server.make_url("/signaling").with_query({"token": TOKEN})
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await session.ws_connect(no_arn)
            assert info.value.status == 400

    asyncio.run(scenario())


def test_offer_answer_and_candidates_reach_the_right_peers():
    async def scenario():
        async with relay_server() as (relay, server, session):
            master = await session.ws_connect(url(server))
            viewer_a = await session.ws_connect(url(server, client_id="viewer-a"))
            viewer_b = await session.ws_connect(url(server, client_id="viewer-b"))
            await asyncio.sleep(0.05)
            assert relay.state()["sts-pi"] == {"master": True, "viewers": 2}
            assert relay.state()["rover-2"] == {"master": False, "viewers": 0}

            offer = b64({"type": "offer", "sdp": "v=0 a"})
            await viewer_a.send_str(json.dumps({"action": "SDP_OFFER", "messagePayload": offer}))
            got = await receive(master)
            assert got == {"messageType": "SDP_OFFER", "senderClientId": "viewer-a",
                           "messagePayload": offer}

            answer = b64({"type": "answer", "sdp": "v=0 b"})
            await master.send_str(json.dumps({"action": "SDP_ANSWER", "messagePayload": answer,
                                              "recipientClientId": "viewer-b"}))
            got = await receive(viewer_b)
            assert got["messageType"] == "SDP_ANSWER" and got["messagePayload"] == answer
            # viewer-a got nothing from that: its next message is the candidate below
            cand = b64({"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                        "sdpMid": "0", "sdpMLineIndex": 0})
            await master.send_str(json.dumps({"action": "ICE_CANDIDATE", "messagePayload": cand,
                                              "recipientClientId": "viewer-a"}))
            got = await receive(viewer_a)
            assert got["messageType"] == "ICE_CANDIDATE" and got["messagePayload"] == cand

            # a message to a viewer who is not there, with a correlationId: STATUS_RESPONSE
            await master.send_str(json.dumps({"action": "SDP_ANSWER", "messagePayload": answer,
                                              "recipientClientId": "ghost",
                                              "correlationId": "c-1"}))
            status = await receive(master)
            assert status["messageType"] == "STATUS_RESPONSE"
            assert status["statusResponse"]["correlationId"] == "c-1"
            # a malformed message is refused and nothing is forwarded
            await viewer_b.send_str(json.dumps({"action": "BOGUS", "messagePayload": offer,
                                                "correlationId": "c-2"}))
            status = await receive(viewer_b)
            assert status["statusResponse"]["statusCode"] == "400"
            await viewer_a.close()
            await asyncio.sleep(0.05)
            assert relay.state()["sts-pi"]["viewers"] == 1
            for ws in (master, viewer_b):
                await ws.close()

    asyncio.run(scenario())


def test_newest_master_wins():
    async def scenario():
        async with relay_server() as (relay, server, session):
            old = await session.ws_connect(url(server))
            new = await session.ws_connect(url(server))
            closed = await asyncio.wait_for(old.receive(), 5)
            assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert old.close_code == MASTER_REPLACED
            viewer = await session.ws_connect(url(server, client_id="v1"))
            payload = b64({"type": "offer", "sdp": "x"})
            await viewer.send_str(json.dumps({"action": "SDP_OFFER", "messagePayload": payload}))
            assert (await receive(new))["senderClientId"] == "v1"
            assert relay.state()["sts-pi"]["master"] is True
            await new.close()
            await viewer.close()
            await asyncio.sleep(0.05)
            assert relay.state()["sts-pi"] == {"master": False, "viewers": 0}

    asyncio.run(scenario())


def test_a_viewers_client_id_cannot_be_taken_while_in_use():
    """Reusing a viewer's ClientId dropped that viewer's video and drive channel and took its
    identity (the robot's driver lease knows a viewer by it)."""

    async def scenario():
        async with relay_server() as (relay, server, session):
            master = await session.ws_connect(url(server))
            viewer = await session.ws_connect(url(server, client_id="viewer-1"))
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url(server, client_id="viewer-1"))
            assert refused.value.status == 409
            await master.send_str(json.dumps({"action": "SDP_ANSWER", "messagePayload":
                                              b64({"type": "answer", "sdp": "x"}),
                                              "recipientClientId": "viewer-1"}))
            assert (await receive(viewer))["messageType"] == "SDP_ANSWER"  # still the viewer's
            await viewer.close()
            await asyncio.sleep(0)  # the relay sees the close
            again = await asyncio.wait_for(_connect_when_free(session, server, "viewer-1"), 5)
            await again.close()
            await master.close()

    asyncio.run(scenario())


async def _connect_when_free(session, server, client_id):
    """Once its viewer has left, the ClientId is free again (the page reconnects with it)."""
    while True:
        try:
            return await session.ws_connect(url(server, client_id=client_id))
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 409
            await asyncio.sleep(0.01)


def test_only_the_robot_may_be_its_channels_master():
    """#12 item 6: any holder of the page's token connected as master and answered offers."""

    async def scenario():
        relay = SignalingRelay(("sts-pi", "rover-2"), TOKEN,
                               {"sts-pi": "robot-secret", "rover-2": "rover-secret"})
        app = web.Application()
        relay.register(app)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        async with aiohttp.ClientSession() as session:
            try:
                for target in (url(server), url(server, token="rover-secret"),
                               url(server, client_id="v1", token="robot-secret")):
                    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                        await session.ws_connect(target)
                    assert refused.value.status == 401
                master = await session.ws_connect(url(server, token="robot-secret"))
                viewer = await session.ws_connect(url(server, client_id="v1"))
                assert relay.state()["sts-pi"] == {"master": True, "viewers": 1}
                await master.close()
                await viewer.close()
            finally:
                await relay.close()
                await server.close()

    asyncio.run(scenario())


def test_the_master_is_told_who_signed_each_viewer_in():
    """The robot's lease takes a page's data channel and its HTTP commands for one driver only
    if it knows whose the viewer is: the relay says so, from the viewer's token; the viewer
    cannot say it itself."""

    async def scenario():
        async with relay_server(user_of={TOKEN: "ann"}.get) as (relay, server, session):
            master = await session.ws_connect(url(server))
            viewer = await session.ws_connect(url(server, client_id="page-a"))
            offer = b64({"type": "offer", "sdp": "v=0 a"})
            await viewer.send_str(json.dumps({"action": "SDP_OFFER", "messagePayload": offer,
                                              "senderUser": "root", "senderClientId": "x"}))
            assert await receive(master) == {"messageType": "SDP_OFFER",
                                             "senderClientId": "page-a",
                                             "messagePayload": offer, "senderUser": "ann"}
            await master.send_str(json.dumps({"action": "SDP_ANSWER", "messagePayload": offer,
                                              "recipientClientId": "page-a"}))
            assert "senderUser" not in await receive(viewer)  # only the robot is told
            await viewer.close()
            await master.close()
        async with relay_server() as (relay, server, session):  # a relay that names nobody
            master = await session.ws_connect(url(server))
            viewer = await session.ws_connect(url(server, client_id="page-a"))
            await viewer.send_str(json.dumps({"action": "SDP_OFFER", "messagePayload": offer,
                                              "senderUser": "root"}))
            assert "senderUser" not in await receive(master)
            await viewer.close()
            await master.close()

    asyncio.run(scenario())
