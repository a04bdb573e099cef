"""Where the master's signaling WebSocket goes, and which ICE servers it uses.

Two implementations of one small seam, ``await channel.prepare() -> Connection``:

- :class:`KvsChannel`: AWS. ``DescribeSignalingChannel``, ``GetSignalingChannelEndpoint`` as
  MASTER (WSS and HTTPS), ``GetIceServerConfig``, and a SigV4-presigned WSS URL, all with
  credentials from the IoT credentials provider. Called again on every reconnect, so the URL
  and the TURN credentials are always fresh.
- :class:`LocalChannel`: the local stack's relay, ``ws://HOST:PORT/signaling`` with the same
  query parameters plus ``token=``, and no ICE servers (everything is on one machine). The
  relay also names the signed-in person behind each viewer (``senderUser``); KVS does not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiortc import RTCIceServer

LOCAL_ARN = "arn:aws:kinesisvideo:local:000000000000:channel/{name}/0"
PRESIGN_EXPIRES_S = 299  # what the KVS SDKs use


@dataclass
class Connection:
    """What one signaling connection needs: the URL to open and the peers' ICE servers."""

    url: str
    ice_servers: list[RTCIceServer] = field(default_factory=list)
    channel_arn: str = ""
    names_users: bool = False  # the service says who signed each viewer in (``senderUser``)

    def redacted(self) -> str:
        """The URL without its query (signatures and tokens are secrets)."""
        return self.url.split("?", 1)[0]


class LocalChannel:
    """The local stack's signaling relay.

    :param url: ``ws://HOST:PORT/signaling``.
    :param token: the local stack's ``ROBOT_API_TOKEN``.
    :param channel: the channel (robot) name.
    """

    def __init__(self, url: str, token: str, channel: str) -> None:
        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"signaling_url must start with ws:// or wss://, got {url!r}")
        self.url, self.token, self.channel = url, token, channel

    async def prepare(self) -> Connection:
        arn = LOCAL_ARN.format(name=self.channel)
        query = urlencode({"X-Amz-ChannelARN": arn, "token": self.token})
        return Connection(f"{self.url}?{query}", [], arn, names_users=True)


def presign(wss_endpoint: str, channel_arn: str, credentials: Any, region: str) -> str:
    """A SigV4 query-signed ``wss://`` URL for connecting as master.

    :param credentials: botocore credentials (``access_key``, ``secret_key``, ``token``).
    """
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    # the path is signed as "/": say so in the URL too, so what is opened is what was signed
    url = wss_endpoint if urlsplit(wss_endpoint).path else wss_endpoint + "/"
    request = AWSRequest(method="GET", url=url,
                         params={"X-Amz-ChannelARN": channel_arn})
    SigV4QueryAuth(credentials, "kinesisvideo", region, PRESIGN_EXPIRES_S).add_auth(request)
    return request.prepare().url


class KvsChannel:
    """A KVS signaling channel in AWS, as master.

    :param channel: the channel name (the robot's thing name).
    :param region: the AWS region.
    :param make_session: returns a boto3 session whose credentials refresh themselves (see
        :meth:`robot_agent.camera.iot_credentials.IotCredentialsProvider.boto3_session`);
        called once, off the event loop, since it fetches the first credentials.
    """

    def __init__(self, channel: str, region: str, make_session: Callable[[], Any]) -> None:
        self.channel, self.region, self.make_session = channel, region, make_session
        self.session: Any = None

    async def prepare(self) -> Connection:
        return await asyncio.get_running_loop().run_in_executor(None, self._prepare)

    def _prepare(self) -> Connection:
        if self.session is None:
            self.session = self.make_session()
        kvs = self.session.client("kinesisvideo", region_name=self.region)
        arn = kvs.describe_signaling_channel(ChannelName=self.channel)["ChannelInfo"]["ChannelARN"]
        endpoints = kvs.get_signaling_channel_endpoint(
            ChannelARN=arn,
            SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS"],
                                                      "Role": "MASTER"},
        )["ResourceEndpointList"]
        by_protocol = {e["Protocol"]: e["ResourceEndpoint"] for e in endpoints}
        signaling = self.session.client("kinesis-video-signaling", region_name=self.region,
                                        endpoint_url=by_protocol["HTTPS"])
        ice = signaling.get_ice_server_config(ChannelARN=arn, Service="TURN")["IceServerList"]
        servers = [RTCIceServer(urls=f"stun:stun.kinesisvideo.{self.region}.amazonaws.com:443")]
        # aiortc uses only the first TURN server it is given: take the first KVS offers.
        servers += [RTCIceServer(urls=s["Uris"], username=s["Username"], credential=s["Password"])
                    for s in ice[:1]]
        credentials = self.session.get_credentials().get_frozen_credentials()
        url = presign(by_protocol["WSS"], arn, credentials, self.region)
        return Connection(url, servers, arn)
