"""After the stack: the PyPortal's settings, each robot's certificate and config, the web page.

Everything secret is written with mode 0600 in folders with mode 0700 under
``out/deploy/<stack>/``: ``pyportal/settings.toml``, ``robots/<name>/config.toml`` and
``robots/<name>/certs/``. A robot that already has a certificate there (still active in IoT)
keeps it: re-running the deploy never mints a second certificate.

Each robot also gets ``robots/<name>.tar.gz``, the one file to copy to its Pi:
``sudo ./install.sh --bundle <name>.tar.gz`` installs it (see :func:`write_bundle`).
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tools.deploy.errors import DeployError

HERE = Path(__file__).resolve().parent
ROOT_CA = HERE / "AmazonRootCA1.pem"
WEB_ROOT = HERE.parents[1] / "cloud" / "web"
PI_CERTS = "/etc/robot-agent/certs"  # where install.sh puts certs/ on the Pi
CERT, KEY, CA, CERT_ID = "certificate.pem.crt", "private.pem.key", "AmazonRootCA1.pem", \
    "certificate.id"


def write_private(path: Path, text: str) -> Path:
    """Write *text* so that only the owner can read it (0600, folder 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def iot_endpoints(iot: Any) -> dict[str, str]:
    """The account's ATS data endpoint (MQTT) and credentials-provider endpoint (KVS)."""
    return {
        "data": iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"],
        "credentials": iot.describe_endpoint(
            endpointType="iot:CredentialProvider")["endpointAddress"],
    }


def pyportal_settings(api_url: str, api_key: str, refresh_minutes: int = 10) -> str:
    """``settings.toml`` for CIRCUITPY, in the keys ``device/pyportal/settings.py`` reads."""
    lines = [
        "# Written by python -m tools.deploy. Fill in your Wi-Fi, then copy to CIRCUITPY.",
        f"CIRCUITPY_WIFI_SSID = {_toml('your-network')}",
        f"CIRCUITPY_WIFI_PASSWORD = {_toml('your-password')}",
        f"MARS_API_URL = {_toml(api_url.rstrip('/'))}",
        f"MARS_API_KEY = {_toml(api_key)}",
        f"REFRESH_MINUTES = {refresh_minutes}",
        'UNITS = "C"',
    ]
    return "\n".join(lines) + "\n"


def provision_pyportal(apigw: Any, outputs: Mapping[str, str], out: Path) -> Path:
    """Read the API key's value and write the PyPortal's ``settings.toml`` (0600)."""
    key = apigw.get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)["value"]
    return write_private(out / "pyportal" / "settings.toml",
                         pyportal_settings(outputs["ApiUrl"], key))


#: Idle status is republished this often in AWS. Each is a billed IoT message (the agent's 5 s
#: default is ~520,000 a month); the Last Will and IoT's keepalive report a lost robot anyway.
HEARTBEAT_S = 60.0


def robot_config(name: str, endpoints: Mapping[str, str], role_alias: str, region: str,
                 legacy_topic: bool = False) -> str:
    """The agent's ``config.toml`` (format: ``device/robot-pi/config.example.toml``).

    :param legacy_topic: the stack lets robots take ``<name>/action`` (``LegacyActionTopic``);
        off, the agent must not subscribe to it (IoT would close the connection).
    """
    lines = [
        "# Written by python -m tools.deploy; installed by install.sh --bundle (certs/ goes to "
        f"{PI_CERTS}).",
        f"name = {_toml(name)}",
        "",
        "[mqtt]",
        f"endpoint = {_toml(endpoints['data'])}",
        "port = 8883",
        f"cert = {_toml(f'{PI_CERTS}/{CERT}')}",
        f"key = {_toml(f'{PI_CERTS}/{KEY}')}",
        f"ca = {_toml(f'{PI_CERTS}/{CA}')}",
        f"legacy_topic = {_toml(legacy_topic)}",
        "",
        "[driving]",
        f"heartbeat_s = {HEARTBEAT_S}",
        "",
        "[motors]",
        'driver = "explorer-hat"',
        "invert_left = false",
        "invert_right = false",
        "max_speed = 1.0",
        "",
        "[camera]",
        '# "aiortc" streams to the robot\'s KVS channel (needs the agent\'s [camera] extra);',
        '# see the agent README for the drivers.',
        'driver = "none"',
        f"channel = {_toml(name)}",
        f"region = {_toml(region)}",
        f"credentials_endpoint = {_toml(endpoints['credentials'])}",
        f"role_alias = {_toml(role_alias)}",
        f"cert = {_toml(f'{PI_CERTS}/{CERT}')}",
        f"key = {_toml(f'{PI_CERTS}/{KEY}')}",
        f"ca = {_toml(f'{PI_CERTS}/{CA}')}",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RobotFiles:
    name: str
    folder: Path
    certificate_arn: str
    created: bool  # False: the certificate from an earlier deploy was kept
    bundle: Path | None = None

    @property
    def install_command(self) -> str:
        """What to run on the Pi, in ``device/robot-pi`` of a clone, with the bundle beside."""
        return f"sudo ./install.sh --bundle {self.name}.tar.gz"


#: The bundle's members, exactly (install.sh refuses any other name).
BUNDLE_MEMBERS = ("config.toml", f"certs/{CERT}", f"certs/{KEY}", f"certs/{CA}")


def write_bundle(folder: Path, name: str, members: Sequence[str] = BUNDLE_MEMBERS) -> Path:
    """``<folder>/../<name>.tar.gz`` (0600): the robot's config and certificates for install.sh.

    Members are owned by root with mode 0600 and fixed names; ``certificate.id`` stays on this
    computer (it is for re-deploys, not the robot).

    :param members: the files to pack (the local stack's bundle for a Pi is its config alone).
    """
    target = folder.parent / f"{name}.tar.gz"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(target, 0o600)

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mode = 0o600
        return info

    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for member in members:
            tar.add(folder / member, arcname=member, recursive=False, filter=owned_by_root)
    return target


def _existing_certificate(iot: Any, certs: Path) -> str | None:
    id_file = certs / CERT_ID
    if not (id_file.is_file() and (certs / KEY).is_file() and (certs / CERT).is_file()):
        return None
    try:
        found = iot.describe_certificate(certificateId=id_file.read_text().strip())
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    description = found["certificateDescription"]
    return description["certificateArn"] if description["status"] == "ACTIVE" else None


def provision_robot(iot: Any, name: str, outputs: Mapping[str, str], endpoints: Mapping[str, str],
                    region: str, out: Path, legacy_topic: bool = False) -> RobotFiles:
    """Give robot *name* a certificate bound to its thing and the robot policy, and write
    ``certs/`` and ``config.toml`` for ``install.sh``."""
    folder = out / "robots" / name
    certs = folder / "certs"
    kept = _existing_certificate(iot, certs)
    created = kept is None
    if kept is not None:
        arn = kept
    else:
        made = iot.create_keys_and_certificate(setAsActive=True)
        arn = str(made["certificateArn"])
        write_private(certs / KEY, made["keyPair"]["PrivateKey"])
        write_private(certs / CERT, made["certificatePem"])
        write_private(certs / CERT_ID, made["certificateId"] + "\n")
    # both calls are idempotent: a kept certificate is re-bound in case the stack was rebuilt
    iot.attach_policy(policyName=outputs["RobotPolicyName"], target=arn)
    iot.attach_thing_principal(thingName=name, principal=arn)
    write_private(certs / CA, ROOT_CA.read_text())
    write_private(folder / "config.toml",
                  robot_config(name, endpoints, outputs["RobotRoleAlias"], region, legacy_topic))
    return RobotFiles(name, folder, arn, created, write_bundle(folder, name))


def release_robots(iot: Any, names: Sequence[str], policy: str | None) -> int:
    """Detach, deactivate and delete the robots' certificates, so the things can go."""
    released = 0
    for name in names:
        try:
            principals = iot.list_thing_principals(thingName=name)["principals"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                continue
            raise
        for arn in principals:
            iot.detach_thing_principal(thingName=name, principal=arn)
            if policy:
                try:
                    iot.detach_policy(policyName=policy, target=arn)
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                        raise
            cert_id = arn.rsplit("/", 1)[-1]
            iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
            iot.delete_certificate(certificateId=cert_id, forceDelete=True)
            released += 1
    return released


def web_config(outputs: Mapping[str, str], region: str, robots: Sequence[str]) -> dict:
    """The page's ``config.json`` (read by ``cloud/web/app.js``)."""
    channels = {name: outputs.get(f"Channel{re.sub('[^0-9A-Za-z]', '', name)}Arn")
                for name in robots}
    return {
        "mode": "aws",
        # same origin as the page: CloudFront sends /robot/* and /publish to the API
        "apiBase": outputs["WebUrl"].rstrip("/"),
        "region": region,
        "robots": list(robots),
        "channels": channels,
        "cognito": {
            "domain": outputs["AuthDomain"],
            "clientId": outputs["UserPoolClientId"],
            "userPoolId": outputs["UserPoolId"],
            "identityPoolId": outputs["IdentityPoolId"],
            "redirectUri": outputs["WebUrl"],
        },
    }


#: What the page is made of; READMEs, licences and checksums in cloud/web/ stay off the web.
WEB_SUFFIXES = (".html", ".js", ".css", ".png", ".svg", ".ico", ".webmanifest")


def web_assets(root: Path = WEB_ROOT) -> list[Path]:
    """The files the page serves: its markup, scripts, styles and images."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in WEB_SUFFIXES
                  and "__pycache__" not in p.parts and p.name != "config.json")


def publish_web(s3: Any, cloudfront: Any | None, outputs: Mapping[str, str],
                config: Mapping[str, Any], account: str, root: Path = WEB_ROOT) -> int:
    """Upload the page and its ``config.json`` to the private web bucket; refresh CloudFront."""
    bucket = outputs["WebBucketName"]
    if not (root / "index.html").is_file():
        raise DeployError(f"the web page is missing: {root / 'index.html'}")
    owner = {"ExpectedBucketOwner": account}
    assets = web_assets(root)
    for path in assets:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.upload_file(str(path), bucket, path.relative_to(root).as_posix(),
                       ExtraArgs={"ContentType": kind, **owner})
    s3.put_object(Bucket=bucket, Key="config.json", ContentType="application/json",
                  CacheControl="no-store", Body=json.dumps(config, indent=1).encode(), **owner)
    if cloudfront is not None and outputs.get("WebDistributionId"):
        cloudfront.create_invalidation(
            DistributionId=outputs["WebDistributionId"],
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]},
                               "CallerReference": f"deploy-{time.time_ns()}"})
    return len(assets) + 1
