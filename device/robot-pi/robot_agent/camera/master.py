"""A KVS WebRTC signaling **master** in pure Python (aiortc).

The robot is the master of the signaling channel named after it. Each viewer (a browser) sends
an SDP offer; the master answers it with a new peer connection that carries the camera track,
and takes the viewer's trickled ICE candidates. Up to ``max_viewers`` watch at once, all fed
from one camera through one shared H.264 encoder (:mod:`robot_agent.camera.encoder`).

The signaling connection is remade, with fresh credentials and a fresh URL, when KVS says
``GO_AWAY`` or ``RECONNECT_ICE_SERVER``, before KVS's one-hour connection limit, and (with
backoff) whenever it drops. Peer connections already up are not touched by that: the video
flows peer to peer, not through signaling.

A viewer may open a data channel labelled ``drive`` on its peer connection (any other label
is closed): its messages go to ``on_drive(viewer, message)``; ``send``/``broadcast`` answer
on it. ``on_drive_closed(viewer)`` says when the channel closes, ``on_viewer_gone(viewer)``
when the viewer's connection does. Only viewers whose offer came through the signaling channel,
which admitted them (KVS: IAM credentials from Cognito; locally: the token), have a peer
connection to open one. :meth:`WebRtcMaster.user` is the signed-in person behind a viewer where
the signaling service says (the local relay's ``senderUser``); KVS names the ClientId alone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from robot_agent.camera import DRIVE_LABEL
from robot_agent.camera.channel import Connection
from robot_agent.camera.encoder import SharedEncoder, prefer_h264

log = logging.getLogger("robot.camera")

SESSION_S = 55 * 60  # reconnect before KVS's 60-minute connection limit
CONNECT_S = 15.0  # ICE on a LAN or through STUN connects in a few seconds
RECONNECT_TYPES = ("GO_AWAY", "RECONNECT_ICE_SERVER")


class Channel(Protocol):
    async def prepare(self) -> Connection: ...


def encode(payload: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


def decode(text: str) -> dict[str, Any]:
    value = json.loads(base64.b64decode(text))
    if not isinstance(value, dict):
        raise ValueError("messagePayload is not a JSON object")
    return value


class GuardedTrack(MediaStreamTrack):
    """The camera track as viewers get it: a driver error ends it cleanly and is reported.

    Unguarded, an exception from the source's ``recv`` ends the encoder's reading task silently:
    viewers freeze on the last frame and the status still says ``streaming``.
    """

    kind = "video"

    def __init__(self, source: MediaStreamTrack,
                 on_fail: Callable[[BaseException], None]) -> None:
        super().__init__()
        self.source = source
        self.on_fail = on_fail

    async def recv(self) -> Any:
        try:
            return await self.source.recv()
        except MediaStreamError:
            raise
        except Exception as exc:  # a driver's error of any kind
            log.error("camera: the source failed mid-stream: %s: %s", type(exc).__name__, exc)
            self.stop()
            self.on_fail(exc)
            raise MediaStreamError from exc

    def stop(self) -> None:
        super().stop()
        with contextlib.suppress(Exception):  # it may be the very thing that broke
            self.source.stop()


class WebRtcMaster:
    """Serve one camera track to the viewers of one signaling channel.

    :param channel: where to connect (:class:`~robot_agent.camera.channel.KvsChannel` or
        :class:`~robot_agent.camera.channel.LocalChannel`).
    :param make_track: called once, at the first viewer, to open the camera.
    :param on_change: called with the new state dict whenever state or viewer count changes.
    :param max_viewers: offers beyond this many viewers are ignored (KVS allows 10).
    :param connect_s: a viewer not connected this long after its answer is dropped, and a full
        house makes room by dropping the oldest one not connected: offers that never connect
        (a stranger's, a closed tab's) cannot hold the slots.
    :param session_s: seconds before the signaling connection is remade.
    :param backoff: first and longest wait between reconnection attempts, in seconds.
    """

    def __init__(self, channel: Channel, make_track: Callable[[], MediaStreamTrack], *,
                 on_change: Callable[[dict[str, Any]], None] | None = None,
                 max_viewers: int = 10, session_s: float = SESSION_S,
                 backoff: tuple[float, float] = (0.5, 30.0),
                 connect_s: float = CONNECT_S, fps: int = 15, codec: str = "libx264") -> None:
        self.connect_s = connect_s
        self._expiries: set[asyncio.Task] = set()
        self.channel = channel
        self.fps, self.codec = fps, codec
        self.make_track = make_track
        self.on_change = on_change
        self.max_viewers = max_viewers
        self.session_s = session_s
        self.backoff = backoff
        self.state: dict[str, Any] = {"state": "off", "viewers": 0}
        self.peers: dict[str, RTCPeerConnection] = {}
        self.drive_channels: dict[str, Any] = {}  # viewer -> its open RTCDataChannel
        self.users: dict[str, str] = {}  # viewer -> who signed it in, where signaling says
        self.on_drive: Callable[[str, str | bytes], None] | None = None
        self.on_viewer_gone: Callable[[str], None] | None = None
        self.on_drive_closed: Callable[[str], None] | None = None
        self.connections = 0  # successful signaling connections so far
        self._source: MediaStreamTrack | None = None
        self._encoder: SharedEncoder | None = None
        self._ws: Any = None
        self._closing = asyncio.Event()

    # -- state -----------------------------------------------------------------------------

    def _set(self, state: str | None = None, **extra: Any) -> None:
        viewers = sum(1 for pc in self.peers.values() if pc.connectionState == "connected")
        base = self.state if state is None else {}  # a viewer count change keeps the reason
        new = {**base, "state": state or self.state["state"], "viewers": viewers, **extra}
        if new != self.state:
            self.state = new
            if self.on_change is not None:
                try:
                    self.on_change(dict(new))
                except Exception:  # a broken listener must not take the camera down
                    log.exception("camera on_change listener failed")

    # -- signaling loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve, reconnect; returns only after :meth:`close`."""
        import websockets

        delay = self.backoff[0]
        self._set("starting")
        while not self._closing.is_set():
            try:
                connection = await self.channel.prepare()
                async with websockets.connect(connection.url, open_timeout=10, ping_interval=20,
                                              max_size=64 * 1024) as ws:
                    self._ws = ws
                    self.connections += 1
                    delay = self.backoff[0]
                    log.info("camera: signaling connected (%s)", connection.redacted())
                    self._set("streaming")
                    reason = await self._serve(ws, connection)
                    log.info("camera: signaling reconnect (%s)", reason)
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure here means: retry later
                log.warning("camera: signaling failed: %s: %s", type(exc).__name__, exc)
                self._set("error", error=f"signaling: {type(exc).__name__}")
            finally:
                self._ws = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
            delay = min(delay * 2, self.backoff[1])

    async def _serve(self, ws: Any, connection: Connection) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.session_s
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return "session limit"
                receive = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait({receive, closing}, timeout=remaining,
                                             return_when=asyncio.FIRST_COMPLETED)
                if closing in done:
                    receive.cancel()
                    return "closing"
                if receive not in done:
                    receive.cancel()
                    continue
                reason = await self._dispatch(ws, connection, receive.result())
                if reason:
                    return reason
        finally:
            closing.cancel()

    async def _dispatch(self, ws: Any, connection: Connection, raw: str | bytes) -> str | None:
        try:
            message = json.loads(raw)
            kind = message.get("messageType")
            sender = message.get("senderClientId") or ""
            if kind in RECONNECT_TYPES:
                return kind
            if kind == "STATUS_RESPONSE":
                log.info("camera: signaling status %s", message.get("statusResponse"))
                return None
            payload = decode(message["messagePayload"])
            if kind == "SDP_OFFER":
                user = message.get("senderUser") if connection.names_users else None
                await self._answer(ws, connection, sender, payload, user)
            elif kind == "ICE_CANDIDATE":
                await self._candidate(sender, payload)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            log.warning("camera: ignored a bad signaling message: %s", str(exc)[:200])
        return None

    # -- peers -----------------------------------------------------------------------------

    async def _answer(self, ws: Any, connection: Connection, viewer: str,
                      offer: dict[str, Any], user: Any = None) -> None:
        if viewer in self.peers:
            await self._drop(viewer)  # the same viewer starting over
        if len(self.peers) >= self.max_viewers:
            waiting = [v for v, p in self.peers.items() if p.connectionState != "connected"]
            if not waiting:
                log.warning("camera: refusing viewer %s: %d viewers already", viewer,
                            len(self.peers))
                return
            log.warning("camera: viewer %s never connected; making room for %s", waiting[0],
                        viewer)
            await self._drop(waiting[0])
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(connection.ice_servers)))
        self.peers[viewer] = pc
        self._name(viewer, user)

        @pc.on("connectionstatechange")
        async def changed() -> None:
            log.info("camera: viewer %s %s", viewer, pc.connectionState)
            if pc.connectionState in ("failed", "closed") and self.peers.get(viewer) is pc:
                await self._drop(viewer)
            self._set()

        @pc.on("datachannel")
        def opened(channel: Any) -> None:
            self._attach_drive(viewer, pc, channel)

        if self._source is None:
            try:  # no camera, a busy one, a driver that cannot start: video only is lost
                self._source = GuardedTrack(self.make_track(), self._source_failed)
                self._encoder = SharedEncoder(self._source, self.fps, codec=self.codec)
            except Exception as exc:  # any driver error: report, keep serving
                log.error("camera: cannot open the camera: %s: %s", type(exc).__name__, exc)
                self._set("error", error=f"camera: {type(exc).__name__}: {exc}"[:200])
                await self._drop(viewer)
                return
            self._set("streaming")
        assert self._encoder is not None
        track = self._encoder.subscribe()  # encoded once for all viewers
        pc.addTrack(track)
        prefer_h264(pc, track)
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        # aiortc gathers its candidates before setLocalDescription returns: they are all in
        # the answer, so there is nothing to trickle.
        answer = {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}
        await ws.send(json.dumps({"action": "SDP_ANSWER", "recipientClientId": viewer,
                                  "messagePayload": encode(answer)}))
        expiry = asyncio.create_task(self._expire(viewer, pc))
        self._expiries.add(expiry)
        expiry.add_done_callback(self._expiries.discard)

    async def _expire(self, viewer: str, pc: RTCPeerConnection) -> None:
        await asyncio.sleep(self.connect_s)
        if self.peers.get(viewer) is pc and pc.connectionState != "connected":
            log.warning("camera: viewer %s did not connect within %g s; dropped", viewer,
                        self.connect_s)
            await self._drop(viewer)

    def _attach_drive(self, viewer: str, pc: RTCPeerConnection, channel: Any) -> None:
        if channel.label != DRIVE_LABEL or self.peers.get(viewer) is not pc:
            log.warning("camera: viewer %s opened data channel %r; closed", viewer,
                        channel.label[:32])
            channel.close()
            return
        self.drive_channels[viewer] = channel
        log.info("camera: viewer %s opened the drive channel", viewer)

        @channel.on("message")
        def message(data: str | bytes) -> None:
            if self.on_drive is not None and self.drive_channels.get(viewer) is channel:
                self.on_drive(viewer, data)

        @channel.on("close")
        def closed() -> None:
            # The viewer still watches and may go on driving over HTTP, as its signed-in user:
            # the channel's lease ends now so that it can (its last command's deadman still
            # holds). Its video connection closing is what stops the motors at once.
            if self.drive_channels.get(viewer) is channel:
                del self.drive_channels[viewer]
                log.info("camera: viewer %s closed the drive channel", viewer)
                if self.on_drive_closed is not None:
                    self.on_drive_closed(viewer)

    def send(self, viewer: str, payload: dict[str, Any]) -> bool:
        """Send ``payload`` as JSON on ``viewer``'s drive channel, if it is open."""
        channel = self.drive_channels.get(viewer)
        if channel is None or channel.readyState != "open":
            return False
        channel.send(json.dumps(payload, separators=(",", ":")))
        return True

    def _name(self, viewer: str, user: Any) -> None:
        if viewer in self.peers and isinstance(user, str) and 0 < len(user) <= 128:
            self.users[viewer] = user
        else:
            self.users.pop(viewer, None)

    def user(self, viewer: str) -> str | None:
        """The signed-in person behind ``viewer``, where the signaling service names them."""
        return self.users.get(viewer)

    def drive_open(self, viewer: str) -> bool:
        """Whether ``viewer``'s drive channel is open (aiortc marks it ``closing`` the moment
        the viewer's reset arrives, a round trip before it emits ``close``)."""
        channel = self.drive_channels.get(viewer)
        return channel is not None and channel.readyState == "open"

    def broadcast(self, payload: dict[str, Any]) -> int:
        text = json.dumps(payload, separators=(",", ":"))
        sent = 0
        for channel in list(self.drive_channels.values()):
            if channel.readyState == "open":
                channel.send(text)
                sent += 1
        return sent

    async def _candidate(self, viewer: str, payload: dict[str, Any]) -> None:
        pc = self.peers.get(viewer)
        text = payload.get("candidate") or ""
        if pc is None or not text:
            return  # unknown viewer, or end-of-candidates
        candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:")
                                       else text)
        if candidate.ip.endswith(".local"):
            # mDNS-hidden browser address: resolving it means multicast on the LAN. The
            # browser's own checks reach us anyway and become peer-reflexive candidates.
            return
        candidate.sdpMid = payload.get("sdpMid")
        candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
        await pc.addIceCandidate(candidate)

    def _source_failed(self, error: BaseException) -> None:
        """The camera died mid-stream: say so; the next viewer opens it again."""
        self._source = self._encoder = None
        self._set("error", error=f"camera: {type(error).__name__}: {error}"[:200])

    async def _drop(self, viewer: str) -> None:
        pc = self.peers.pop(viewer, None)
        self.drive_channels.pop(viewer, None)
        self.users.pop(viewer, None)
        if pc is not None:
            await pc.close()
            if self.on_viewer_gone is not None:
                self.on_viewer_gone(viewer)  # a driver who left need not wait for its lease
        self._set()

    async def close(self) -> None:
        """Hang up every viewer, leave the channel, release the camera."""
        self._closing.set()
        for expiry in list(self._expiries):
            expiry.cancel()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        for viewer in list(self.peers):
            await self._drop(viewer)
        if self._encoder is not None:
            self._encoder.stop()
            self._encoder = None
        if self._source is not None:
            self._source.stop()
            self._source = None
        self._set("off")
