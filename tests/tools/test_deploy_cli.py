"""``python -m tools.deploy``: the offline dry run, one-line errors, and a whole deploy
(moto for S3, IoT, API Gateway and STS; Stubber for CloudFormation and CloudFront), run twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from tools.deploy import cli, provision

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def offline_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
               AWS_EC2_METADATA_DISABLED="true",
               # any AWS call would go to a closed port and fail
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    env.update(extra)
    return env


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.deploy", *args], cwd=ROOT,
                          env=offline_env(**env), capture_output=True, text=True, timeout=120)


def test_dry_run_builds_and_packages_without_aws(tmp_path):
    done = run("deploy", "--stack", "mars", "--dry-run", "--skip-deps", "--out", str(tmp_path),
               "--robot", "sts-pi", "--robot", "rover-2")
    assert done.returncode == 0, done.stderr
    assert "nothing was sent to AWS" in done.stdout
    with zipfile.ZipFile(tmp_path / "build" / "code.zip") as code:
        names = code.namelist()
    assert "cloud/routes.py" in names and "cloud/config.py" in names
    assert not any(n.startswith(("cloud/web/", "tests/")) or n.endswith(".pyc") for n in names)
    assert "cloud/template.yaml" not in names
    packaged = json.loads((tmp_path / "packaged.json").read_text())
    code_uri = packaged["Resources"]["MarsApiFunction"]["Properties"]["CodeUri"]
    assert code_uri["Bucket"] == "mars-artifacts-ACCOUNT-us-east-1"
    assert code_uri["Key"].startswith("mars/code-")
    expanded = json.loads((tmp_path / "expanded.json").read_text())
    assert {"Thingstspi", "Thingrover2", "Channelrover2"} <= set(expanded["Resources"])


def test_the_build_is_reproducible(tmp_path):
    from tools.deploy import build

    first = build.build_code(tmp_path / "a")
    second = build.build_code(tmp_path / "b")
    assert first.sha256 == second.sha256 and first.key == second.key


def test_the_layer_is_installed_for_arm64_without_runtime_packages(tmp_path):
    from tools.deploy import build

    calls = []

    def fake_pip(args):
        calls.append(list(args))
        target = Path(args[args.index("--target") + 1])
        for package in ("PIL", "aws_lambda_powertools", "botocore", "boto3"):
            (target / package).mkdir(parents=True)
            (target / package / "__init__.py").write_text("# x\n")
        (target / "botocore-1.0.dist-info").mkdir()
        (target / "botocore-1.0.dist-info" / "METADATA").write_text("Name: botocore\n")

    layer = build.build_layer(tmp_path, pip=fake_pip, requirements=["pillow==13.0.0"])
    args = calls[0]
    assert args[args.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in args
    assert args[args.index("--platform") + 1] == "manylinux2014_aarch64"
    with zipfile.ZipFile(layer.path) as archive:
        names = archive.namelist()
    assert "python/PIL/__init__.py" in names
    assert not any(n.startswith(("python/boto", "python/botocore")) for n in names)
    build.build_layer(tmp_path, pip=fake_pip, requirements=["pillow==13.0.0"])
    assert len(calls) == 1  # cached by its requirements


def test_layer_requirements_come_from_pyproject():
    from tools.deploy import build

    pins = build.layer_requirements()
    assert [p.split("==")[0] for p in pins] == list(build.LAYER_PACKAGES)
    assert all("==" in p for p in pins)


def test_no_region_is_one_line():
    done = run("status", "--stack", "mars")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: no AWS region: pass --region (e.g. --region eu-west-1) or set AWS_REGION"]


def test_no_credentials_is_one_line():
    done = run("outputs", "--stack", "mars", "--region", REGION)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no AWS credentials")


def test_bad_values_change_nothing(tmp_path):
    done = run("deploy", "--stack", "mars", "--dry-run", "--robot", "bad name", "--out",
               str(tmp_path))
    assert done.returncode == 2 and "--robot 'bad name'" in done.stderr
    assert list(tmp_path.iterdir()) == []
    done = run("deploy", "--stack", "mars", "--dry-run", "--robot", "a-b", "--robot", "ab")
    assert done.returncode == 2 and "differ" in done.stderr


def test_missing_permission_is_one_line():
    from botocore.exceptions import ClientError

    from tools.deploy.errors import MissingPermission, explain

    exc = ClientError({"Error": {"Code": "AccessDenied", "Message": "User: arn:aws:iam::1:user/x "
                                 "is not authorized to perform: cloudformation:CreateChangeSet"}},
                      "CreateChangeSet")
    error = explain(exc)
    assert isinstance(error, MissingPermission)
    assert "CreateChangeSet" in str(error) and "\n" not in str(error)


# ---------------------------------------------------------------- a whole deploy, twice


class HybridSession:
    """moto for most services; Stubber-backed clients where moto cannot follow."""

    def __init__(self, stubbed: dict[str, object]) -> None:
        self.region_name = REGION
        self._moto = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                                   aws_secret_access_key="testing")
        self.stubbed = stubbed

    def client(self, service, region_name=None):
        return self.stubbed.get(service) or self._moto.client(service, region_name=REGION)


def _outputs(api_key_id: str) -> dict[str, str]:
    return {"ApiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
            "ApiKeyId": api_key_id, "WebUrl": "https://d111.cloudfront.net/",
            "WebBucketName": "mars-web-bucket", "WebDistributionId": "E123",
            "MarsStoreBucketName": "mars-store-bucket", "UserPoolId": "pool",
            "UserPoolClientId": "client", "IdentityPoolId": "eu-west-1:pool",
            "AuthDomain": "mars-1.auth.eu-west-1.amazoncognito.com",
            "RobotPolicyName": "mars-robot", "RobotRoleAlias": "mars-robot-video",
            "Channelstspi" "Arn": "arn:aws:kinesisvideo:eu-west-1:123456789012:channel/sts-pi/1"}


def _stack(status, outputs):
    return {"Stacks": [{"StackName": "mars", "StackStatus": status, "CreationTime": T0,
                        "Outputs": [{"OutputKey": k, "OutputValue": v}
                                    for k, v in outputs.items()],
                        "Parameters": [{"ParameterKey": "RobotNames",
                                        "ParameterValue": "sts-pi"}]}]}


def _event(n, status):
    return {"StackId": "s", "EventId": f"e{n}", "StackName": "mars", "LogicalResourceId": "mars",
            "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": status,
            "Timestamp": T0}


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr("tools.deploy.stack.time.sleep", lambda s: None)
    with mock_aws():
        session = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                                aws_secret_access_key="testing")
        iot = session.client("iot")
        iot.create_thing(thingName="sts-pi")
        iot.create_policy(policyName="mars-robot", policyDocument="{}")
        key = session.client("apigateway").create_api_key(name="mars-pyportal", enabled=True)
        session.client("s3").create_bucket(
            Bucket="mars-web-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield session, key["id"]


def test_a_whole_deploy_then_a_no_op_redeploy(world, tmp_path):
    session, key_id = world
    outputs = _outputs(key_id)
    cfn = boto3.client("cloudformation", region_name=REGION)
    cloudfront = boto3.client("cloudfront", region_name=REGION)
    lines: list[str] = []
    args = ["deploy", "--stack", "mars", "--region", REGION, "--robot", "sts-pi",
            "--nasa-api-key", "K3Y", "--skip-deps", "--out", str(tmp_path)]
    with Stubber(cfn) as cfn_stub, Stubber(cloudfront) as cf_stub:
        cfn_stub.add_client_error("describe_stacks", "ValidationError",
                                  "Stack with id mars does not exist")
        cfn_stub.add_response("create_change_set", {"Id": "cs"}, {
            "StackName": "mars", "ChangeSetName": ANY, "ChangeSetType": "CREATE",
            "TemplateURL": ANY, "Capabilities": ANY, "Tags": [{"Key": "project",
                                                               "Value": "mars-robot"}],
            "Description": ANY, "Parameters": [
                {"ParameterKey": "IotDataEndpoint", "ParameterValue": ANY},
                {"ParameterKey": "NasaApiKey", "ParameterValue": "K3Y"},
                {"ParameterKey": "RobotNames", "ParameterValue": "sts-pi"}]})
        cfn_stub.add_response("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": []})
        cfn_stub.add_response("describe_stack_events",
                              {"StackEvents": [_event(0, "REVIEW_IN_PROGRESS")]})
        cfn_stub.add_response("execute_change_set", {})
        cfn_stub.add_response("describe_stack_events", {"StackEvents": [
            _event(1, "CREATE_COMPLETE"), _event(0, "REVIEW_IN_PROGRESS")]})
        cfn_stub.add_response("describe_stacks", _stack("CREATE_COMPLETE", outputs))
        cfn_stub.add_response("describe_stacks", _stack("CREATE_COMPLETE", outputs))
        cf_stub.add_response("create_invalidation", {}, {
            "DistributionId": "E123", "InvalidationBatch": ANY})
        hybrid = HybridSession({"cloudformation": cfn, "cloudfront": cloudfront})
        code = cli.main(args, session_factory=lambda **kw: hybrid, emit=lines.append)
        assert code == 0, lines
        cfn_stub.assert_no_pending_responses()

    s3 = session.client("s3")
    artifacts = s3.list_objects_v2(Bucket="mars-artifacts-123456789012-eu-west-1")["Contents"]
    keys = sorted(o["Key"] for o in artifacts)
    assert [k.split("/")[1].split("-")[0] for k in keys] == ["code", "layer", "template"]
    template_key = next(k for k in keys if "template-" in k)
    packaged = json.loads(s3.get_object(Bucket="mars-artifacts-123456789012-eu-west-1",
                                        Key=template_key)["Body"].read())
    code_uri = packaged["Resources"]["MarsApiFunction"]["Properties"]["CodeUri"]
    assert code_uri["Key"] in keys

    robot = tmp_path / "robots" / "sts-pi"
    assert stat.S_IMODE((robot / "certs" / "private.pem.key").stat().st_mode) == 0o600
    assert 'name = "sts-pi"' in (robot / "config.toml").read_text()
    settings = (tmp_path / "pyportal" / "settings.toml").read_text()
    assert outputs["ApiUrl"] in settings
    if (provision.WEB_ROOT / "index.html").is_file():
        config = json.loads(s3.get_object(Bucket="mars-web-bucket", Key="config.json")["Body"]
                            .read())
        assert config["apiBase"] == outputs["WebUrl"].rstrip("/")
    assert any(line.startswith("IotDataEndpoint = ") for line in lines)
    assert "ApiUrl = https://abc.execute-api.eu-west-1.amazonaws.com/prod" in lines
    first_cert = session.client("iot").list_certificates()["certificates"]

    # the same command again: nothing uploaded, no change set executed, no second certificate
    cfn = boto3.client("cloudformation", region_name=REGION)
    cloudfront = boto3.client("cloudfront", region_name=REGION)
    lines.clear()
    with Stubber(cfn) as cfn_stub, Stubber(cloudfront) as cf_stub:
        cfn_stub.add_response("describe_stacks", _stack("CREATE_COMPLETE", outputs))
        cfn_stub.add_response("create_change_set", {"Id": "cs"})
        cfn_stub.add_response("describe_change_set", {
            "Status": "FAILED", "StatusReason": "The submitted information didn't contain "
                                                "changes."})
        cfn_stub.add_response("delete_change_set", {})
        cfn_stub.add_response("describe_stacks", _stack("CREATE_COMPLETE", outputs))
        cfn_stub.add_response("describe_stacks", _stack("CREATE_COMPLETE", outputs))
        cf_stub.add_response("create_invalidation", {})
        hybrid = HybridSession({"cloudformation": cfn, "cloudfront": cloudfront})
        assert cli.main(args, session_factory=lambda **kw: hybrid, emit=lines.append) == 0
        cfn_stub.assert_no_pending_responses()
    assert "stack mars is up to date: nothing to change" in lines
    assert sum(line.startswith("unchanged build/") for line in lines) == 2
    assert session.client("iot").list_certificates()["certificates"] == first_cert
    assert any("kept its certificate" in line for line in lines)


def test_destroy_empties_buckets_releases_certificates_and_deletes(world, tmp_path):
    session, key_id = world
    outputs = _outputs(key_id)
    s3 = session.client("s3")
    s3.put_object(Bucket="mars-web-bucket", Key="index.html", Body=b"<html>")
    iot = session.client("iot")
    endpoints = provision.iot_endpoints(iot)
    provision.provision_robot(iot, "sts-pi", outputs, endpoints, REGION, tmp_path)
    cfn = boto3.client("cloudformation", region_name=REGION)
    lines: list[str] = []
    with Stubber(cfn) as stub:
        for _ in range(3):  # status, outputs, robot names
            stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", outputs))
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", outputs))
        stub.add_response("describe_stack_events", {"StackEvents": [_event(0, "X")]})
        stub.add_response("delete_stack", {}, {"StackName": "mars"})
        stub.add_response("describe_stack_events", {"StackEvents": [
            _event(1, "DELETE_COMPLETE"), _event(0, "X")]})
        hybrid = HybridSession({"cloudformation": cfn})
        code = cli.main(["destroy", "--stack", "mars", "--region", REGION],
                        session_factory=lambda **kw: hybrid, emit=lines.append)
        assert code == 0, lines
        stub.assert_no_pending_responses()
    assert "Contents" not in s3.list_objects_v2(Bucket="mars-web-bucket")
    assert iot.list_certificates()["certificates"] == []
    assert "released 1 robot certificate(s)" in lines


def test_stack_names_must_suit_bucket_and_domain_names():
    done = run("deploy", "--stack", "Mars", "--dry-run")
    assert done.returncode == 2 and "lower-case" in done.stderr
