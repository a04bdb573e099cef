"""Device provisioning against moto: certificates signed from the robot's own CSR and bound to
thing and policy, no private key anywhere here, 0600 files, a config.toml the robot agent
accepts, the PyPortal's settings, and the web page's config and changed files.

moto's CreateCertificateFromCsr signs a key of its own (moto/iot/models.py), not the CSR's: that
the certificate matches the robot's key is checked where a real signature is made, in
tests/robot/test_install.py."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import boto3
import pytest

from testing.pki import robot_csr
from tools.deploy import provision

REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from moto import mock_aws  # here: only the worker running this file loads moto

    with mock_aws():
        yield boto3.Session(region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")


@pytest.fixture
def outputs(aws):
    iot = aws.client("iot")
    iot.create_policy(policyName="mars-robot", policyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect",
                                                 "Resource": "*"}]}))
    for name in ("sts-pi", "rover_2"):
        iot.create_thing(thingName=name)
    key = aws.client("apigateway").create_api_key(name="mars-pyportal", enabled=True)
    return {"RobotPolicyName": "mars-robot", "RobotRoleAlias": "mars-robot-video",
            "ApiKeyId": key["id"], "ApiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
            "WebUrl": "https://d111.cloudfront.net/", "AuthDomain": "mars-1.auth.eu-west-1."
            "amazoncognito.com", "UserPoolClientId": "client", "UserPoolId": "pool",
            "IdentityPoolId": "eu-west-1:id", "WebBucketName": "mars-web-bucket",
            "Channelstspi" "Arn": "arn:aws:kinesisvideo:eu-west-1:123456789012:channel/sts-pi/1",
            "ViewerRolestspiArn": "arn:aws:iam::123456789012:role/mars-ViewerRolestspi-X"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_robot_without_a_csr_gets_its_config_and_the_step_to_make_its_key(aws, outputs,
                                                                           tmp_path):
    iot = aws.client("iot")
    files = provision.provision_robot(iot, "sts-pi", outputs, provision.iot_endpoints(iot),
                                      REGION, tmp_path)
    assert files.certificate_arn is None and files.bundle is None
    assert files.install_command == "sudo ./install.sh --csr sts-pi"
    assert iot.list_certificates()["certificates"] == []
    assert (files.folder / "config.toml").is_file()


def test_a_robot_gets_a_certificate_bound_to_its_thing_and_policy(aws, outputs, tmp_path):
    iot = aws.client("iot")
    endpoints = provision.iot_endpoints(iot)
    assert endpoints["data"].endswith(f"-ats.iot.{REGION}.amazonaws.com")
    files = provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path,
                                      csr=robot_csr())
    assert files.created
    assert iot.list_thing_principals(thingName="sts-pi")["principals"] == [files.certificate_arn]
    assert iot.list_thing_principals(thingName="rover_2")["principals"] == []
    policies = iot.list_attached_policies(target=files.certificate_arn)["policies"]
    assert [p["policyName"] for p in policies] == ["mars-robot"]
    cert_id = files.certificate_arn.rsplit("/", 1)[-1]
    described = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert described["status"] == "ACTIVE"
    certs = files.folder / "certs"
    assert (certs / "certificate.pem.crt").read_text() == described["certificatePem"]
    assert not (certs / "private.pem.key").exists()  # the key never left the robot
    assert not any("PRIVATE KEY" in p.read_text() for p in certs.iterdir())
    assert "BEGIN CERTIFICATE" in (certs / "AmazonRootCA1.pem").read_text()
    for path in [*certs.iterdir(), files.folder / "config.toml"]:
        assert _mode(path) == 0o600, path
    assert _mode(certs) == 0o700


def test_a_second_deploy_keeps_the_certificate_and_a_new_key_replaces_it(aws, outputs,
                                                                          tmp_path):
    iot = aws.client("iot")
    endpoints = provision.iot_endpoints(iot)
    csr = robot_csr()
    first = provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path,
                                      csr=csr)
    cert = (first.folder / "certs" / "certificate.pem.crt").read_text()
    for again in (None, csr):  # no CSR, or the same one: nothing new
        second = provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path,
                                           csr=again)
        assert not second.created and second.certificate_arn == first.certificate_arn
    assert (first.folder / "certs" / "certificate.pem.crt").read_text() == cert
    assert len(iot.list_certificates()["certificates"]) == 1
    # the robot made a new key: its certificate replaces the old one, which goes
    third = provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path,
                                      csr=robot_csr())
    assert third.created and third.certificate_arn != first.certificate_arn
    assert [c["certificateArn"] for c in iot.list_certificates()["certificates"]] == [
        third.certificate_arn]
    assert iot.list_thing_principals(thingName="sts-pi")["principals"] == [third.certificate_arn]


def test_a_csr_file_must_be_a_csr_and_never_a_key(tmp_path):
    from tools.deploy.errors import DeployError

    good = tmp_path / "sts-pi.csr"
    good.write_text(robot_csr())
    assert provision.read_csr(good, "sts-pi").startswith("-----BEGIN CERTIFICATE REQUEST")
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n")
    with pytest.raises(DeployError, match="must stay on the robot"):
        provision.read_csr(key, "sts-pi")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(DeployError, match="install.sh --csr sts-pi"):
        provision.read_csr(other, "sts-pi")
    with pytest.raises(DeployError, match="cannot read"):
        provision.read_csr(tmp_path / "missing.csr", "sts-pi")


def test_a_revoked_certificate_is_replaced(aws, outputs, tmp_path):
    iot = aws.client("iot")
    endpoints = provision.iot_endpoints(iot)
    first = provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path,
                                      csr=robot_csr())
    iot.update_certificate(certificateId=first.certificate_arn.rsplit("/", 1)[-1],
                           newStatus="REVOKED")
    lost = provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path)
    assert lost.bundle is None  # revoked: a new CSR from the robot is needed
    second = provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path,
                                       csr=robot_csr())
    assert second.created and second.certificate_arn != first.certificate_arn


def test_the_robot_config_is_accepted_by_the_agent(aws, outputs, tmp_path):
    from robot_agent.camera.settings import parse_settings
    from robot_agent.config import parse

    iot = aws.client("iot")
    endpoints = provision.iot_endpoints(iot)
    files = provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path,
                                      csr=robot_csr())
    data = tomllib.loads((files.folder / "config.toml").read_text())
    assert data["name"] == "sts-pi"
    assert data["mqtt"]["endpoint"] == endpoints["data"]
    assert data["mqtt"]["cert"] == f"{provision.PI_CERTS}/certificate.pem.crt"
    # on the Pi install.sh puts certs/ at PI_CERTS; here they stay where they were written
    certs = files.folder / "certs"
    (certs / "private.pem.key").write_text("the robot's own key, on the Pi")
    for section in ("mqtt", "camera"):
        for key, name in (("cert", "certificate.pem.crt"), ("key", "private.pem.key"),
                          ("ca", "AmazonRootCA1.pem")):
            data[section][key] = str(certs / name)
    config = parse(data, "config.toml")
    assert (config.name, config.mqtt.host, config.mqtt.port) == ("sts-pi", endpoints["data"],
                                                                  8883)
    # the stack's policy refuses <name>/action unless LegacyActionTopic is on: never subscribe
    assert config.mqtt.legacy_topic is False
    assert config.driving.heartbeat_s == provision.HEARTBEAT_S  # fewer billed IoT messages
    assert config.driving.max_accel_per_s == 4.0
    assert data["camera"]["driver"] == "aiortc"  # video and the drive channel by default
    camera = parse_settings(data["camera"], "sts-pi")
    assert camera.role_alias == "mars-robot-video"
    assert camera.credentials_endpoint == endpoints["credentials"]


def test_the_bundled_root_ca_is_amazon_root_ca_1():
    import certifi

    pem = provision.ROOT_CA.read_text()
    assert pem.startswith("-----BEGIN CERTIFICATE-----") and pem.count("BEGIN") == 1
    assert pem.strip() in Path(certifi.where()).read_text()
    block = Path(certifi.where()).read_text().split(pem.strip())[0].rsplit("# Label:", 1)[1]
    assert block.startswith(' "Amazon Root CA 1"')


def test_pyportal_settings_carry_the_api_key_value(aws, outputs, tmp_path):
    path = provision.provision_pyportal(aws.client("apigateway"), outputs, tmp_path)
    value = aws.client("apigateway").get_api_key(apiKey=outputs["ApiKeyId"],
                                                 includeValue=True)["value"]
    settings = tomllib.loads(path.read_text())
    assert settings["MARS_API_KEY"] == value
    assert settings["MARS_API_URL"] == outputs["WebUrl"].rstrip("/")  # through CloudFront
    assert settings["REFRESH_MINUTES"] == provision.PYPORTAL_REFRESH_MINUTES
    assert _mode(path) == 0o600


def test_web_config_and_upload(aws, outputs, tmp_path):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="mars-web-bucket",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    page = tmp_path / "web"
    (page / "vendor").mkdir(parents=True)
    (page / "index.html").write_text("<html></html>")
    (page / "vendor" / "kvs.js").write_text("//")
    (page / "README.md").write_text("# notes for developers")
    (page / "vendor" / "kvs.LICENSE").write_text("licence text")
    config = provision.web_config(outputs, REGION, ["sts-pi"])
    assert config["cognito"]["redirectUri"] == outputs["WebUrl"]
    assert config["channels"]["sts-pi"].endswith("channel/sts-pi/1")
    assert config["viewerRoles"] == {"sts-pi": outputs["ViewerRolestspiArn"]}
    uploaded = provision.publish_web(s3, None, outputs, config, "123456789012", root=page)
    assert uploaded == ["index.html", "vendor/kvs.js", "config.json"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="mars-web-bucket")["Contents"]}
    assert keys == {"index.html", "vendor/kvs.js", "config.json"}
    stored = s3.get_object(Bucket="mars-web-bucket", Key="config.json")
    assert json.loads(stored["Body"].read()) == config
    assert stored["CacheControl"] == "no-store"
    index = s3.get_object(Bucket="mars-web-bucket", Key="index.html")
    assert index["ContentType"] == "text/html"
    # a redeploy uploads what changed only
    assert provision.publish_web(s3, None, outputs, config, "123456789012",
                                 root=page) == ["config.json"]
    (page / "vendor" / "kvs.js").write_text("// v2")
    assert provision.publish_web(s3, None, outputs, config, "123456789012",
                                 root=page) == ["vendor/kvs.js", "config.json"]


def test_release_detaches_and_deletes_certificates(aws, outputs, tmp_path):
    iot = aws.client("iot")
    endpoints = provision.iot_endpoints(iot)
    provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path,
                              csr=robot_csr())
    assert provision.release_robots(iot, ["sts-pi", "gone"], "mars-robot") == 1
    assert iot.list_thing_principals(thingName="sts-pi")["principals"] == []
    assert iot.list_certificates()["certificates"] == []


def test_the_pyportal_app_accepts_the_settings(aws, outputs, tmp_path):
    import subprocess
    import sys

    path = provision.provision_pyportal(aws.client("apigateway"), outputs, tmp_path)
    device = Path(__file__).resolve().parents[2] / "device" / "pyportal"
    # the device modules have board-style top-level names; load them in their own interpreter
    code = ("import sys, tomllib; sys.path.insert(0, sys.argv[1]); import settings\n"
            "values = tomllib.load(open(sys.argv[2], 'rb'))\n"
            "s = settings.load(lambda k: values.get(k))\n"
            "print(s.api_url, s.refresh_minutes, s.units)")
    done = subprocess.run([sys.executable, "-c", code, str(device), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [outputs["WebUrl"].rstrip("/"),
                                   str(provision.PYPORTAL_REFRESH_MINUTES), "C"]


def test_each_robot_gets_one_bundle_and_one_install_command(aws, outputs, tmp_path):
    import tarfile

    iot = aws.client("iot")
    csr = robot_csr()
    files = provision.provision_robot(iot, "sts-pi", outputs, provision.iot_endpoints(iot),
                                      REGION, tmp_path, csr=csr)
    assert files.bundle == tmp_path / "robots" / "sts-pi.tar.gz" and _mode(files.bundle) == 0o600
    assert files.install_command == "sudo ./install.sh --bundle sts-pi.tar.gz"
    with tarfile.open(files.bundle) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == list(provision.BUNDLE_MEMBERS)
        assert all(m.isfile() and m.mode == 0o600 and m.uid == 0 for m in members)
        assert not any(b"PRIVATE KEY" in tar.extractfile(m).read() for m in members)
    again = provision.provision_robot(iot, "sts-pi", outputs, provision.iot_endpoints(iot),
                                      REGION, tmp_path, csr=csr)
    assert again.bundle == files.bundle and not again.created  # same key, same bundle path
