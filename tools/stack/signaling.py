"""A local stand-in for the KVS WebRTC signaling service.

It speaks the same JSON over a WebSocket as KVS does, so the robot's master and the browser's
viewer run unchanged against it:

- connect: ``ws://HOST:PORT/signaling?X-Amz-ChannelARN=<arn>[&X-Amz-ClientId=<id>]&token=<t>``.
  Without ``X-Amz-ClientId`` the socket is the channel's master (one per channel, the robot's
  own secret; the newest connection wins, as with ``ConnectAsMaster``); with it, a viewer. A
  ClientId in use is refused (409) until its viewer leaves: nobody takes over a viewer.
- send: ``{"action": "SDP_OFFER|SDP_ANSWER|ICE_CANDIDATE", "recipientClientId": ...,
  "messagePayload": base64(json), "correlationId"?}``. Viewers' messages always go to the master;
  the master names the viewer in ``recipientClientId``.
- receive: ``{"messageType": ..., "senderClientId": ..., "messagePayload": ...}``; a message
  that cannot be delivered, if it carried a ``correlationId``, is answered with a
  ``STATUS_RESPONSE``, as KVS does.

The routing (:class:`Channel`) is plain Python over anything with ``send_str``; only
:class:`SignalingRelay` knows aiohttp.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from contracts import safejson

log = logging.getLogger("stack.signaling")

LOCAL_ARN = "arn:aws:kinesisvideo:local:000000000000:channel/{name}/0"
# The local channels' region and account only: an ARN of another region or account names a
# channel this relay does not have.
ARN_PATTERN = re.compile(
    r"^arn:aws:kinesisvideo:local:000000000000:channel/(?P<name>[A-Za-z0-9_.-]{1,256})/\d+$")
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
ACTIONS = ("SDP_OFFER", "SDP_ANSWER", "ICE_CANDIDATE")
MAX_MESSAGE = 10 * 1024  # KVS's payload limit
MASTER_REPLACED = 4000  # close code a master sees when a newer master takes its place
REUSE_WAIT_S = 1.0  # how long a ClientId in use may take to be released before a 409


class SignalingError(ValueError):
    """A connection request or a message the relay refuses."""


def channel_arn(name: str) -> str:
    """The local channel ARN for robot ``name`` (KVS's format, region ``local``)."""
    return LOCAL_ARN.format(name=name)


def channel_name(arn: str) -> str:
    """The channel name inside a KVS channel ARN.

    :raises SignalingError: not a KVS signaling channel ARN.
    """
    match = ARN_PATTERN.match(arn or "")
    if not match:
        raise SignalingError(f"X-Amz-ChannelARN {arn!r} is not a signaling channel ARN")
    return match.group("name")


def parse_message(text: str, *, from_master: bool) -> dict[str, Any]:
    """Validate one message a client sent; returns it as a dict.

    :raises SignalingError: not JSON, unknown action, missing recipient or payload, too big.
    """
    try:
        message = safejson.loads(text, max_bytes=MAX_MESSAGE + 1024)
    except safejson.UnsafeJson as exc:
        raise SignalingError(f"message refused: {exc}") from None
    if not isinstance(message, dict):
        raise SignalingError("message is not a JSON object")
    if message.get("action") not in ACTIONS:
        raise SignalingError(f"action must be one of {', '.join(ACTIONS)}")
    payload = message.get("messagePayload")
    if not isinstance(payload, str) or not payload or len(payload) > MAX_MESSAGE:
        raise SignalingError("messagePayload must be a base64 string of at most 10 KB")
    if from_master and not isinstance(message.get("recipientClientId"), str):
        raise SignalingError("a master's message needs recipientClientId")
    # The recipient's page or agent parses the payload too: only sound JSON goes on.
    try:
        safejson.loads(base64.b64decode(payload, validate=True), max_bytes=MAX_MESSAGE)
    except (binascii.Error, safejson.UnsafeJson) as exc:
        raise SignalingError(f"messagePayload is not base64 of sound JSON: {exc}") from None
    return message


def status_response(correlation_id: str, status: int, error: str, description: str) -> str:
    return json.dumps({
        "messageType": "STATUS_RESPONSE",
        "statusResponse": {"correlationId": correlation_id, "errorType": error,
                           "statusCode": str(status), "description": description},
    })


class Peer(Protocol):
    async def send_str(self, data: str) -> None: ...


@dataclass
class Channel:
    """One signaling channel: at most one master, any number of viewers."""

    name: str
    master: Peer | None = None
    viewers: dict[str, Peer] = field(default_factory=dict)

    def route(self, sender: str | None, message: dict[str, Any]) -> tuple[Peer | None, str]:
        """Where ``message`` from ``sender`` (``None`` = the master) goes, and as what.

        :returns: ``(peer, text)``; ``peer`` is ``None`` when nobody is there to receive it.
        """
        if sender is None:
            peer = self.viewers.get(message["recipientClientId"])
            out = {"messageType": message["action"], "senderClientId": "",
                   "messagePayload": message["messagePayload"]}
        else:
            peer = self.master
            out = {"messageType": message["action"], "senderClientId": sender,
                   "messagePayload": message["messagePayload"]}
        return peer, json.dumps(out)


class SignalingRelay:
    """The ``/signaling`` WebSocket endpoint for the robots named in ``channels``.

    :param channels: known channel (robot) names; anything else is 404.
    :param token: the local token a viewer must present as ``token=``.
    :param master_tokens: channel -> the secret its master (the robot) presents instead, as in
        KVS where only the robot's own credentials may connect as master; without it, masters
        present ``token`` too (unit tests).
    :param viewers: ``(token, channel) -> bool``: whether that person may watch that robot, as
        KVS's viewer role allows its owners only; without it, ``token`` watches every channel.
    """

    def __init__(self, channels: Iterable[str], token: str,
                 master_tokens: Mapping[str, str] | None = None,
                 viewers: Callable[[str, str], bool] | None = None) -> None:
        self.channels = {name: Channel(name) for name in channels}
        self.token = token
        self.master_tokens = dict(master_tokens) if master_tokens is not None else None
        self.viewers = viewers
        self._sockets: set[web.WebSocketResponse] = set()
        self._left: dict[web.WebSocketResponse, asyncio.Event] = {}  # set when a socket ends
        self.messages = 0

    def register(self, app: web.Application, path: str = "/signaling") -> None:
        app.router.add_get(path, self.handle)

    def state(self) -> dict[str, Any]:
        return {name: {"master": ch.master is not None, "viewers": len(ch.viewers)}
                for name, ch in self.channels.items()}

    def _authorise(self, request: web.Request) -> tuple[Channel, str | None]:
        client_id = request.query.get("X-Amz-ClientId")
        try:
            name = channel_name(request.query.get("X-Amz-ChannelARN", ""))
        except SignalingError as exc:
            name = None
            refusal: web.HTTPException = web.HTTPBadRequest(text=str(exc))
        expected = self.token
        if client_id is None and self.master_tokens is not None and name is not None:
            expected = self.master_tokens.get(name, "")  # only the robot is its master
        token = request.query.get("token", "")
        if client_id is not None and self.viewers is not None:
            if not any(self.viewers(token, known) for known in self.channels):
                raise web.HTTPUnauthorized(text="missing or wrong token")
        elif not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            raise web.HTTPUnauthorized(text="missing or wrong token")
        if name is None:
            raise refusal
        channel = self.channels.get(name)
        if channel is None:
            raise web.HTTPNotFound(text=f"no signaling channel named {name!r}")
        if client_id is not None and self.viewers is not None and not self.viewers(token, name):
            raise web.HTTPForbidden(text=f"you may not watch {name!r}: it is not your robot")
        if client_id is not None and (not CLIENT_ID_PATTERN.match(client_id)
                                      or client_id.startswith("AWS_")):
            raise web.HTTPBadRequest(text="X-Amz-ClientId must be 1-256 of [A-Za-z0-9_.-] "
                                          "and must not start with AWS_")
        return channel, client_id

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        channel, client_id = self._authorise(request)  # refused before the upgrade
        if client_id is not None and not await self._free(channel, client_id):
            # A second connection with a ClientId in use would take over the viewer's
            # messages (its video and drive channel go with them): refused.
            log.warning("signaling %s: refused a second viewer as %s", channel.name,
                        client_id[:64])
            raise web.HTTPConflict(text=f"X-Amz-ClientId {client_id!r} is in use on this "
                                        "channel; choose another")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self._sockets.add(ws)
        role = "master" if client_id is None else f"viewer {client_id}"
        previous = channel.master if client_id is None else None
        if client_id is None:
            channel.master = ws
        else:
            channel.viewers[client_id] = ws
        if isinstance(previous, web.WebSocketResponse):  # only the robot may be master
            await previous.close(code=MASTER_REPLACED, message=b"replaced by a newer connection")
        log.info("signaling %s: %s connected", channel.name, role)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._relay(channel, client_id, ws, msg.data)
        finally:
            self._sockets.discard(ws)
            self._left.pop(ws, asyncio.Event()).set()
            if client_id is None and channel.master is ws:
                channel.master = None
            elif client_id is not None and channel.viewers.get(client_id) is ws:
                del channel.viewers[client_id]
            log.info("signaling %s: %s left", channel.name, role)
        return ws

    async def _free(self, channel: Channel, client_id: str) -> bool:
        """Whether ``client_id`` is free: nobody uses it, or its viewer is leaving (a page that
        restarts its video closes the old socket and opens the new one at once)."""
        current = channel.viewers.get(client_id)
        if not isinstance(current, web.WebSocketResponse):
            return current is None
        left = self._left.setdefault(current, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(left.wait(), REUSE_WAIT_S)
        return channel.viewers.get(client_id) is not current

    async def _relay(self, channel: Channel, client_id: str | None,
                     ws: web.WebSocketResponse, text: str) -> None:
        try:
            message = parse_message(text, from_master=client_id is None)
        except SignalingError as exc:
            correlation = _correlation(text)
            if correlation:
                await ws.send_str(status_response(correlation, 400, "InvalidArgument", str(exc)))
            log.warning("signaling %s: dropped a bad message: %s", channel.name, exc)
            return
        peer, out = channel.route(client_id, message)
        if peer is None:
            if message.get("correlationId"):
                await ws.send_str(status_response(message["correlationId"], 404,
                                                  "ResourceNotFound", "recipient not connected"))
            return
        self.messages += 1
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await peer.send_str(out)

    async def close(self) -> None:
        """Close every socket (the stack is stopping); clients see a normal close."""
        sockets = list(self._sockets)
        await asyncio.gather(*(ws.close(code=1001, message=b"server stopping")
                               for ws in sockets), return_exceptions=True)


def _correlation(text: str) -> str | None:
    try:
        message = safejson.loads(text, max_bytes=MAX_MESSAGE + 1024)
    except safejson.UnsafeJson:
        return None
    value = message.get("correlationId") if isinstance(message, dict) else None
    return value[:256] if isinstance(value, str) else None
