"""The IoT credentials provider client against a local HTTPS server that demands a client cert."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from robot_agent.camera.channel import presign
from robot_agent.camera.iot_credentials import (
    CredentialsError,
    IotCredentialsProvider,
    parse_response,
)

from testing.pki import write_pki

UTC = dt.UTC
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return write_pki(tmp_path_factory.mktemp("pki"), server="localhost", client="sts-pi")


class Provider:
    """A stand-in credentials provider: records requests, answers with ``self.expiration``."""

    def __init__(self, pki):
        self.requests = []
        self.expiration = NOW + dt.timedelta(hours=1)
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                peer = self.connection.getpeercert()
                outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "peer": dict(x[0] for x in peer["subject"])})
                n = len(outer.requests)
                body = json.dumps({"credentials": {
                    "accessKeyId": f"ASIA{n:04d}", "secretAccessKey": "secret",
                    "sessionToken": "token", "expiration":
                        outer.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}}).encode()
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki["ca"])
        tls.load_cert_chain(pki["server_cert"], pki["server_key"])
        tls.verify_mode = ssl.CERT_REQUIRED
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(pki):
    p = Provider(pki)
    yield p
    p.close()


def client(pki, provider, clock, cert="client_cert", key="client_key", margin=300):
    return IotCredentialsProvider("localhost", "robot-camera", "sts-pi", pki[cert], pki[key],
                                  pki["ca"], port=provider.port, refresh_margin_s=margin,
                                  now=lambda: clock[0])


def test_request_path_header_and_client_certificate(pki, provider):
    clock = [NOW]
    creds = client(pki, provider, clock).get()
    assert creds.access_key == "ASIA0001" and creds.token == "token"
    assert creds.expiration == NOW + dt.timedelta(hours=1)
    [request] = provider.requests
    assert request["path"] == "/role-aliases/robot-camera/credentials"
    assert request["headers"]["x-amzn-iot-thingname"] == "sts-pi"
    assert request["peer"]["commonName"] == "sts-pi"
    assert "secret" not in repr(creds)


def test_cached_until_the_refresh_margin_then_fetched_again(pki, provider):
    clock = [NOW]
    c = client(pki, provider, clock, margin=300)
    assert c.get().access_key == "ASIA0001"
    clock[0] = NOW + dt.timedelta(minutes=54)  # 6 minutes left: still good
    assert c.get().access_key == "ASIA0001"
    provider.expiration = NOW + dt.timedelta(hours=2)
    clock[0] = NOW + dt.timedelta(minutes=56)  # 4 minutes left: refresh before expiry
    assert c.get().access_key == "ASIA0002"
    assert len(provider.requests) == 2


def test_expired_answer_and_refusals_are_errors(pki, provider):
    clock = [NOW]
    provider.expiration = NOW - dt.timedelta(seconds=1)
    with pytest.raises(CredentialsError, match="already expired"):
        client(pki, provider, clock).get()
    provider.expiration = NOW + dt.timedelta(hours=1)
    provider.status = 403
    with pytest.raises(CredentialsError, match="403"):
        client(pki, provider, clock).get()
    provider.status = 200
    # a certificate the server's CA did not sign: the TLS handshake fails
    with pytest.raises(CredentialsError):
        client(pki, provider, clock, cert="stranger_cert", key="stranger_key").get()
    with pytest.raises(CredentialsError):
        parse_response(b'{"credentials": {"accessKeyId": "x"}}')


def test_boto3_session_presigns_a_master_url(pki, provider):
    clock = [dt.datetime.now(UTC)]
    provider.expiration = clock[0] + dt.timedelta(hours=1)
    session = client(pki, provider, clock).boto3_session("eu-west-1")
    frozen = session.get_credentials().get_frozen_credentials()
    assert frozen.access_key == "ASIA0001" and frozen.token == "token"
    url = presign("wss://v-1234.kinesisvideo.eu-west-1.amazonaws.com",
                  "arn:aws:kinesisvideo:eu-west-1:123456789012:channel/sts-pi/1", frozen,
                  "eu-west-1")
    assert url.startswith("wss://v-1234.kinesisvideo.eu-west-1.amazonaws.com/?")
    for part in ("X-Amz-ChannelARN=arn%3Aaws%3Akinesisvideo", "X-Amz-Algorithm=AWS4-HMAC-SHA256",
                 "X-Amz-Credential=ASIA0001%2F", "%2Feu-west-1%2Fkinesisvideo%2Faws4_request",
                 "X-Amz-Security-Token=token", "X-Amz-Expires=299", "X-Amz-Signature="):
        assert part in url
    assert "X-Amz-ClientId" not in url  # a master never sends a client id
