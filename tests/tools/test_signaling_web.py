"""The ``web`` component: the page, its assets, its local config.json, the relay's route."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from aiohttp.test_utils import TestServer

from tools.stack.component import StackContext
from tools.stack.components.web import WEB_ROOT, WebComponent


def test_page_assets_config_and_relay_are_served(tmp_path):
    async def scenario():
        ctx = StackContext(host="127.0.0.1", port=8123, mqtt_port=1883, data_dir=tmp_path,
                           api_key="k", robot_token="tok", mqtt_url="mqtt://127.0.0.1:1883",
                           env={"ROBOT_NAMES": "sts-pi, rover-2"})
        component = WebComponent()
        component.setup(ctx)
        server = TestServer(ctx.app, host="127.0.0.1")
        await server.start_server()
        got = {}
        try:
            async with aiohttp.ClientSession() as session:
                for path in ("/", "/app.js", "/web/app.js", "/style.css", "/mars.js",
                             "/vendor/kvs-webrtc.min.js", "/web/vendor/kvs-webrtc.min.js",
                             "/config.json", "/nothing.js", "/vendor/..%2F..%2Fconfig.py",
                             "/web/../../pyproject.toml"):
                    async with session.get(server.make_url(path)) as response:
                        got[path] = (response.status, await response.read())
                ws_url = server.make_url("/signaling").with_query({"token": "tok"})
                try:
                    await session.ws_connect(ws_url)
                except aiohttp.WSServerHandshakeError as exc:
                    got["ws"] = exc.status
        finally:
            await component.stop()
            await server.close()
        return got, component

    got, component = asyncio.run(scenario())
    assert got["/"][0] == 200 and b"<title>Robot control</title>" in got["/"][1]
    assert got["/app.js"] == got["/web/app.js"] == (200, (WEB_ROOT / "app.js").read_bytes())
    assert got["/style.css"][0] == 200 and got["/mars.js"][0] == 200
    assert got["/vendor/kvs-webrtc.min.js"][1].startswith(b"/* Amazon Kinesis Video Streams")
    assert got["/web/vendor/kvs-webrtc.min.js"][0] == 200
    assert got["/nothing.js"][0] == 404
    assert got["/vendor/..%2F..%2Fconfig.py"][0] == 404
    assert got["/web/../../pyproject.toml"][0] in (403, 404)
    assert got["ws"] == 400  # reached the relay: no channel ARN
    config = json.loads(got["/config.json"][1])
    assert config == {
        "mode": "local", "apiBase": "http://127.0.0.1:8123", "region": "local",
        "signalingUrl": "ws://127.0.0.1:8123/signaling",
        "channelArn": "arn:aws:kinesisvideo:local:000000000000:channel/{name}/0",
        "robots": ["sts-pi", "rover-2"], "marsApiKey": "k",  # the Mars tab needs no sign-in
    }
    assert "tok" not in got["/config.json"][1].decode()  # the token is typed, never served
    assert component.health()["channels"] == {"sts-pi": {"master": False, "viewers": 0},
                                              "rover-2": {"master": False, "viewers": 0}}
