"""Temporary AWS credentials from the AWS IoT credentials provider.

The robot has no AWS keys: it proves who it is with its IoT certificate (mutual TLS) and gets
short-lived credentials for the IAM role behind a *role alias*::

    GET https://<iot:CredentialProvider endpoint>/role-aliases/<alias>/credentials
    x-amzn-iot-thingname: <thing>

The answer lasts ``credentialDurationSeconds`` of the alias (1 hour by default). Credentials
are cached and fetched again ``refresh_margin_s`` before they expire; :meth:`boto3_session`
wraps that in botocore's refreshable credentials, so long-lived clients never hold stale keys.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from robot_agent.errors import RobotError

log = logging.getLogger("robot.camera")


class CredentialsError(RobotError, ConnectionError):
    """The credentials provider could not be reached or refused the robot."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str
    expiration: datetime

    def __repr__(self) -> str:  # never print the secret parts
        return f"Credentials(access_key={self.access_key[:4]}..., expiration={self.expiration})"


def parse_response(body: bytes) -> Credentials:
    """The credentials in a provider response.

    :raises CredentialsError: not the documented shape.
    """
    try:
        data = json.loads(body)["credentials"]
        expiration = datetime.fromisoformat(data["expiration"].replace("Z", "+00:00"))
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return Credentials(data["accessKeyId"], data["secretAccessKey"], data["sessionToken"],
                           expiration)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CredentialsError(f"unexpected credentials provider response: {exc}") from None


class IotCredentialsProvider:
    """Fetch and cache role credentials with the robot's certificate.

    :param endpoint: the ``iot:CredentialProvider`` host (no scheme, no path).
    :param role_alias: the IoT role alias.
    :param thing_name: the robot's thing name (sent as ``x-amzn-iot-thingname``).
    :param cert: the device certificate (PEM path).
    :param key: its private key (PEM path).
    :param ca: the CA bundle that signs the endpoint (Amazon Root CA 1 in AWS).
    :param port: 443 in AWS; tests use a local server.
    :param refresh_margin_s: fetch again when fewer seconds than this are left.
    :param now: the clock (UTC); tests pass their own.
    """

    def __init__(self, endpoint: str, role_alias: str, thing_name: str, cert: str, key: str,
                 ca: str, *, port: int = 443, refresh_margin_s: float = 300.0,
                 timeout: float = 10.0, now: Callable[[], datetime] | None = None) -> None:
        self.endpoint, self.port = endpoint, port
        self.path = f"/role-aliases/{quote(role_alias, safe='')}/credentials"
        self.thing_name = thing_name
        self.refresh_margin = timedelta(seconds=refresh_margin_s)
        self.timeout = timeout
        self.now = now or (lambda: datetime.now(UTC))
        self._tls = ssl.create_default_context(cafile=ca)
        self._tls.load_cert_chain(cert, key)
        self._cached: Credentials | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def fetch(self) -> Credentials:
        """Ask the provider (one HTTPS request); no caching.

        :raises CredentialsError: TLS or HTTP failure, refusal, bad or already-expired answer.
        """
        conn = http.client.HTTPSConnection(self.endpoint, self.port, context=self._tls,
                                           timeout=self.timeout)
        try:
            conn.request("GET", self.path, headers={"x-amzn-iot-thingname": self.thing_name})
            response = conn.getresponse()
            body = response.read(64 * 1024)
        except (OSError, http.client.HTTPException) as exc:
            raise CredentialsError(f"credentials provider {self.endpoint}: {exc}") from None
        finally:
            conn.close()
        if response.status != 200:
            detail = body[:200].decode("utf-8", "replace")
            raise CredentialsError(f"credentials provider {self.endpoint} answered "
                                   f"{response.status}: {detail}")
        credentials = parse_response(body)
        if credentials.expiration <= self.now():
            raise CredentialsError("credentials provider returned credentials that have "
                                   f"already expired ({credentials.expiration.isoformat()}); "
                                   "is the clock right?")
        self.fetches += 1
        log.info("camera: AWS credentials until %s", credentials.expiration.isoformat())
        return credentials

    def get(self) -> Credentials:
        """Cached credentials, fetched again when they are about to expire."""
        with self._lock:
            if self._cached is None or self._cached.expiration - self.now() <= self.refresh_margin:
                self._cached = self.fetch()
            return self._cached

    def _metadata(self) -> dict[str, str]:
        c = self.get()
        return {"access_key": c.access_key, "secret_key": c.secret_key, "token": c.token,
                "expiry_time": c.expiration.isoformat()}

    def boto3_session(self, region: str) -> Any:
        """A boto3 session whose credentials come from, and refresh through, this provider."""
        import boto3
        import botocore.session
        from botocore.credentials import RefreshableCredentials

        credentials = RefreshableCredentials.create_from_metadata(
            self._metadata(), self._metadata, "iot-credentials-provider")
        core = botocore.session.get_session()
        core._credentials = credentials  # botocore's documented way has no public setter
        core.set_config_variable("region", region)
        return boto3.Session(botocore_session=core)
