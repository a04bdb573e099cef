"""Whose robot it is, on the local stack: a second person (``STACK_USERS``) reads, drives and
watches only the robot they own; the default sign-in owns every robot."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from testing.stack_process import StackProcess
from tools.stack.signaling import channel_arn


@pytest.fixture(scope="module")
def stack():
    with StackProcess(only="broker,api,web", env={"ROBOT_NAMES": "sts-pi,rover-2",
                                                  "STACK_USERS": "bob=rover-2"}) as running:
        yield running


def _bob(stack) -> str:
    saved = json.loads((stack.data_dir / "local-credentials.json").read_text())
    return saved["USER_TOKENS"]["bob"]


def _watch(stack, robot: str, token: str) -> int:
    async def connect() -> int:
        query = {"X-Amz-ChannelARN": channel_arn(robot), "X-Amz-ClientId": "viewer-1",
                 "token": token}
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(f"ws://127.0.0.1:{stack.port}/signaling",
                                              params=query):
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status
    return asyncio.run(connect())


def test_a_second_person_reads_drives_and_watches_only_their_robot(stack):
    bob = _bob(stack)
    assert f"sign-in bob     {bob}   (owns rover-2)" in stack.log()
    drive = {"action": "forward", "speed": 0.3, "duration_ms": 200}
    status, body = stack.call("POST", "/robot/sts-pi/cmd", drive, token=bob)
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    assert stack.call("GET", "/robot/sts-pi/status", token=bob)[0] == 403
    assert _watch(stack, "sts-pi", bob) == 403
    assert stack.call("POST", "/robot/rover-2/cmd", drive, token=bob)[0] == 202
    assert stack.call("GET", "/robot/rover-2/status", token=bob)[0] == 200
    assert _watch(stack, "rover-2", bob) == 101
    # the default sign-in owns every robot; a wrong token is nobody
    assert stack.call("POST", "/robot/sts-pi/cmd", drive)[0] == 202
    assert _watch(stack, "sts-pi", stack.token) == 101
    assert _watch(stack, "rover-2", "wrong") == 401
    assert stack.call("GET", "/robot/rover-2/status", token="wrong")[0] == 401
