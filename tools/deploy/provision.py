"""After the stack: the PyPortal's settings, each robot's certificate and config, the web page.

Everything is written with mode 0600 in folders with mode 0700 under ``out/deploy/<stack>/``:
``pyportal/settings.toml``, ``robots/<name>/config.toml`` and ``robots/<name>/certs/``.

A robot's private key never leaves its Pi: ``sudo ./install.sh --csr NAME`` makes the key there
and a certificate signing request (CSR); ``deploy --csr NAME=FILE`` has IoT Core sign it
(``CreateCertificateFromCsr``). A robot that already has a certificate (still active in IoT)
keeps it: re-running the deploy never mints a second one, unless a new CSR is given (a new key).

Each robot with a certificate gets ``robots/<name>.tar.gz``, the one file to copy to its Pi:
``sudo ./install.sh --bundle <name>.tar.gz`` installs it (see :func:`write_bundle`).
"""

from __future__ import annotations

import hashlib
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
CERT, KEY, CA, CERT_ID, CSR = "certificate.pem.crt", "private.pem.key", "AmazonRootCA1.pem", \
    "certificate.id", "request.csr"


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


#: How often a deployed PyPortal refreshes (``REFRESH_MINUTES``). The photo changes every
#: ``REFRESH_S`` of the stack (cloud/template.yaml); at 1,000 boards each refresh is a request
#: and, when the photo moved on, a bitmap: ``python -m tools.deploy cost`` shows the bill.
PYPORTAL_REFRESH_MINUTES = 30


def pyportal_settings(api_url: str, api_key: str,
                      refresh_minutes: int = PYPORTAL_REFRESH_MINUTES) -> str:
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
    """Read the API key's value and write the PyPortal's ``settings.toml`` (0600).

    The board calls the API through CloudFront (the page's distribution, ``WebUrl``), whose
    cache answers ``/mars`` and the bitmaps for the whole fleet (``cloud/mars/cdn.py``).
    """
    key = apigw.get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)["value"]
    return write_private(out / "pyportal" / "settings.toml",
                         pyportal_settings(outputs["WebUrl"], key))


#: Video through the agent's aiortc master: the page drives over its data channel, and HTTP is
#: the fallback (``python -m tools.deploy cost`` prices both).
CAMERA_DRIVER = "aiortc"
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
        "max_accel_per_s = 4.0  # standstill to full speed in 0.25 s",
        "",
        "[motors]",
        'driver = "explorer-hat"',
        "invert_left = false",
        "invert_right = false",
        "max_speed = 1.0",
        "",
        "[camera]",
        "# video and the drive channel (install.sh turns it off on a Pi with no camera)",
        f"driver = {_toml(CAMERA_DRIVER)}",
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
    certificate_arn: str | None  # None: no CSR from the robot yet
    created: bool  # False: the certificate from an earlier deploy was kept
    bundle: Path | None = None

    @property
    def install_command(self) -> str:
        """What to run on the Pi, in ``device/robot-pi`` of a clone, with the bundle beside."""
        if self.bundle is None:
            return f"sudo ./install.sh --csr {self.name}"
        return f"sudo ./install.sh --bundle {self.name}.tar.gz"


#: The bundle's members, exactly (install.sh refuses any other name). No private key: the
#: robot made its own and keeps it.
BUNDLE_MEMBERS = ("config.toml", f"certs/{CERT}", f"certs/{CA}")


def write_bundle(folder: Path, name: str, members: Sequence[str] = BUNDLE_MEMBERS) -> Path:
    """``<folder>/../<name>.tar.gz`` (0600): the robot's config and certificate for install.sh.

    Members are owned by root with mode 0600 and fixed names; ``certificate.id`` and the CSR
    stay on this computer (they are for re-deploys, not the robot).

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
    if not (id_file.is_file() and (certs / CERT).is_file()):
        return None
    try:
        found = iot.describe_certificate(certificateId=id_file.read_text().strip())
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    description = found["certificateDescription"]
    return description["certificateArn"] if description["status"] == "ACTIVE" else None


def read_csr(path: Path, name: str) -> str:
    """The robot's CSR from ``install.sh --csr``; refuses anything else, naming the file."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise DeployError(f"--csr {name}={path}: cannot read it ({exc})") from None
    if "PRIVATE KEY" in text:
        raise DeployError(f"--csr {name}={path} holds a private key; it must stay on the robot: "
                          "give the .csr file install.sh --csr wrote")
    if "-----BEGIN CERTIFICATE REQUEST-----" not in text:
        raise DeployError(f"--csr {name}={path} is not a certificate signing request; make one "
                          f"on the robot with sudo ./install.sh --csr {name}")
    return text


def provision_robot(iot: Any, name: str, outputs: Mapping[str, str], endpoints: Mapping[str, str],
                    region: str, out: Path, legacy_topic: bool = False,
                    csr: str | None = None) -> RobotFiles:
    """Give robot *name* a certificate for its own key, bound to its thing and the robot
    policy, and write ``certs/`` and ``config.toml`` for ``install.sh``.

    :param csr: the robot's CSR (PEM); a CSR other than the one signed last time means a new
        key: the new certificate replaces the old one, which is released.
    """
    folder = out / "robots" / name
    certs = folder / "certs"
    kept = _existing_certificate(iot, certs)
    signed = (certs / CSR).read_text() if (certs / CSR).is_file() else None
    created = csr is not None and (kept is None or csr != signed)
    if created:
        assert csr is not None
        made = iot.create_certificate_from_csr(certificateSigningRequest=csr, setAsActive=True)
        arn: str | None = str(made["certificateArn"])
        write_private(certs / CERT, made["certificatePem"])
        write_private(certs / CERT_ID, made["certificateId"] + "\n")
        write_private(certs / CSR, csr)
    else:
        arn = kept
    write_private(folder / "config.toml",
                  robot_config(name, endpoints, outputs["RobotRoleAlias"], region, legacy_topic))
    if arn is None:  # nothing to sign yet: the robot makes its key first
        return RobotFiles(name, folder, None, False)
    # both calls are idempotent: a kept certificate is re-bound in case the stack was rebuilt
    iot.attach_policy(policyName=outputs["RobotPolicyName"], target=arn)
    iot.attach_thing_principal(thingName=name, principal=arn)
    if created and kept is not None and kept != arn:
        _release(iot, name, kept, outputs.get("RobotPolicyName"))  # the old key's certificate
    write_private(certs / CA, ROOT_CA.read_text())
    (certs / KEY).unlink(missing_ok=True)  # a key an older deploy made here is not the robot's
    return RobotFiles(name, folder, arn, created, write_bundle(folder, name))


def _release(iot: Any, thing: str, arn: str, policy: str | None) -> None:
    """Detach one certificate from the thing and the policy, deactivate and delete it."""
    iot.detach_thing_principal(thingName=thing, principal=arn)
    if policy:
        try:
            iot.detach_policy(policyName=policy, target=arn)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    cert_id = arn.rsplit("/", 1)[-1]
    iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
    iot.delete_certificate(certificateId=cert_id, forceDelete=True)


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
            _release(iot, name, arn, policy)
            released += 1
    return released


def web_config(outputs: Mapping[str, str], region: str, robots: Sequence[str]) -> dict:
    """The page's ``config.json`` (read by ``cloud/web/app.js``)."""
    channels = {name: outputs.get(f"Channel{re.sub('[^0-9A-Za-z]', '', name)}Arn")
                for name in robots}
    # a person who owns several robots asks the identity pool for the one they watch
    roles = {name: outputs.get(f"ViewerRole{re.sub('[^0-9A-Za-z]', '', name)}Arn")
             for name in robots}
    return {
        "mode": "aws",
        # same origin as the page: CloudFront sends /robot/* and /publish to the API
        "apiBase": outputs["WebUrl"].rstrip("/"),
        "region": region,
        "robots": list(robots),
        "channels": channels,
        "viewerRoles": roles,
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


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _stored_etags(s3: Any, bucket: str, account: str) -> dict[str, str]:
    """``{key: ETag}`` of the web bucket (a single-part upload's ETag is its MD5)."""
    found: dict[str, str] = {}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                         ExpectedBucketOwner=account)
    for page in pages:
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"].strip('"')
    return found


def publish_web(s3: Any, cloudfront: Any | None, outputs: Mapping[str, str],
                config: Mapping[str, Any], account: str, root: Path = WEB_ROOT) -> list[str]:
    """Upload the page's changed files and its ``config.json`` to the private web bucket;
    ask CloudFront to forget only the changed paths.

    :returns: the keys uploaded (``config.json`` always: it is never cached).
    """
    bucket = outputs["WebBucketName"]
    if not (root / "index.html").is_file():
        raise DeployError(f"the web page is missing: {root / 'index.html'}")
    owner = {"ExpectedBucketOwner": account}
    stored = _stored_etags(s3, bucket, account)
    changed = []
    for path in web_assets(root):
        key = path.relative_to(root).as_posix()
        if stored.get(key) == _md5(path):
            continue
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": kind, **owner})
        changed.append(key)
    s3.put_object(Bucket=bucket, Key="config.json", ContentType="application/json",
                  CacheControl="no-store", Body=json.dumps(config, indent=1).encode(), **owner)
    paths = [f"/{key}" for key in changed] + (["/"] if "index.html" in changed else [])
    if cloudfront is not None and outputs.get("WebDistributionId") and paths:
        cloudfront.create_invalidation(
            DistributionId=outputs["WebDistributionId"],
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths},
                               "CallerReference": f"deploy-{time.time_ns()}"})
    return changed + ["config.json"]
