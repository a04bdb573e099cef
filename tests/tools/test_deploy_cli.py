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

from testing.pki import robot_csr
from tools.deploy import cli, provision, template

pytestmark = pytest.mark.slow  # whole deploys against moto

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
    assert code_uri["Bucket"] == "mars-artifacts-UNGUESSABLE"
    assert code_uri["Key"].startswith("mars/code-")
    expanded = json.loads((tmp_path / "expanded.json").read_text())
    assert {"Thingstspi", "Thingrover2", "Channelrover2"} <= set(expanded["Resources"])


def test_the_build_is_reproducible(tmp_path):
    from tools.deploy import build

    first = build.build_code(tmp_path / "a")
    second = build.build_code(tmp_path / "b")
    assert first.sha256 == second.sha256 and first.key == second.key


def test_the_code_zip_holds_only_tracked_modules(tmp_path):
    from tools.deploy import build

    root = tmp_path / "repo"
    (root / "cloud" / "web").mkdir(parents=True)
    (root / "contracts").mkdir()
    for name in ("cloud/__init__.py", "cloud/app.py", "cloud/schema.json", "cloud/notes.txt",
                 "cloud/template.yaml", "cloud/web/app.js", "contracts/__init__.py"):
        (root / name).write_text("x = 1\n")
    git = ["git", "-C", str(root), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    (root / "cloud" / ".env").write_text("NASA_API_KEY=secret\n")  # untracked, never shipped
    (root / "cloud" / "scratch.py").write_text("experiment = 1\n")  # untracked module
    artifact = build.build_code(tmp_path / "out", root=root)
    with zipfile.ZipFile(artifact.path) as code:
        assert sorted(code.namelist()) == ["cloud/__init__.py", "cloud/app.py",
                                           "cloud/schema.json", "contracts/__init__.py"]


def test_skip_deps_is_refused_for_a_real_deploy(tmp_path):
    done = run("deploy", "--stack", "mars", "--region", REGION, "--skip-deps", "--yes",
               "--out", str(tmp_path))
    assert done.returncode == 2 and "--skip-deps only goes with --dry-run" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_deploy_without_a_terminal_needs_yes(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tools.deploy", "deploy", "--stack", "mars",
                           "--region", REGION, "--out", str(tmp_path)], cwd=ROOT,
                          env=offline_env(), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "pass --yes" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_only_the_pages_assets_are_published():
    assets = {p.relative_to(provision.WEB_ROOT).as_posix() for p in provision.web_assets()}
    assert {"index.html", "app.js", "style.css", "vendor/kvs-webrtc.min.js"} <= assets
    assert not any(a.endswith((".md", ".txt", ".LICENSE", ".sha256")) for a in assets)


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


def test_layer_build_says_what_it_is_doing(tmp_path):
    from tools.deploy import build

    lines: list[str] = []

    def fake_pip(args):
        (Path(args[args.index("--target") + 1]) / "PIL").mkdir()

    build.build_layer(tmp_path, pip=fake_pip, requirements=["pillow==13.0.0"], emit=lines.append)
    assert lines == ["installing the layer for arm64: pillow==13.0.0"]
    assert "--no-deps" in build.pip_arguments(["pillow==13.0.0"], tmp_path)


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

    def __init__(self, moto: boto3.Session, stubbed: dict[str, object]) -> None:
        # the test's own moto session: a new one would load botocore's models again
        self.region_name = REGION
        self._moto = moto
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
            "Channelstspi" "Arn": "arn:aws:kinesisvideo:eu-west-1:123456789012:channel/sts-pi/1",
            "ViewerRolestspiArn": "arn:aws:iam::123456789012:role/mars-ViewerRolestspi-A1",
            "ViewerRolerover2Arn": "arn:aws:iam::123456789012:role/mars-ViewerRolerover2-B2"}


def _stack(status, outputs, robots="sts-pi"):
    return {"Stacks": [{"StackName": "mars", "StackStatus": status, "CreationTime": T0,
                        "Outputs": [{"OutputKey": k, "OutputValue": v}
                                    for k, v in outputs.items()],
                        "Tags": [{"Key": "project", "Value": "mars-robot"}],
                        "Parameters": [{"ParameterKey": "RobotNames",
                                        "ParameterValue": robots}]}]}


def _event(n, status):
    return {"StackId": "s", "EventId": f"e{n}", "StackName": "mars", "LogicalResourceId": "mars",
            "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": status,
            "Timestamp": T0}


def _no_wait(seconds: float) -> None:
    # Not a global time.sleep patch: that reached every thread in the process.
    raise AssertionError(f"the stack was polled ({seconds} s) where the stub answers at once")


def _fake_pip(args, emit=None):
    target = Path(args[args.index("--target") + 1])
    (target / "PIL").mkdir(parents=True)
    (target / "PIL" / "__init__.py").write_text("# a stand-in for Pillow\n")


@pytest.fixture
def world(monkeypatch):
    from testing.s3_owner import enforce

    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr("tools.deploy.build.run_pip", _fake_pip)
    owner_logs: list = []
    real_client = HybridSession.client

    def client(self, service, region_name=None):
        made = real_client(self, service, region_name)
        if service == "s3":
            owner_logs.append(enforce(made))
        return made

    monkeypatch.setattr(HybridSession, "client", client)
    from moto import mock_aws  # here: only the worker running this file loads moto

    with mock_aws():
        session = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                                aws_secret_access_key="testing")
        iot = session.client("iot")
        for name in ("sts-pi", "rover-2"):
            iot.create_thing(thingName=name)
        iot.create_policy(policyName="mars-robot", policyDocument="{}")
        key = session.client("apigateway").create_api_key(name="mars-pyportal", enabled=True)
        session.client("s3").create_bucket(
            Bucket="mars-web-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield session, key["id"], owner_logs


def _pool(session) -> str:
    """The stack's user pool with each robot's owners' group, and the viewer roles."""
    idp, iam = session.client("cognito-idp"), session.client("iam")
    pool = idp.create_user_pool(PoolName="mars-users")["UserPool"]["Id"]
    for name in ("sts-pi", "rover-2"):
        idp.create_group(GroupName=f"robot-{name}", UserPoolId=pool)
        iam.create_role(RoleName=f"mars-ViewerRole{name.replace('-', '')}-X",
                        AssumeRolePolicyDocument="{}")
    return pool


def test_a_whole_deploy_then_a_no_op_redeploy(world, tmp_path):
    session, key_id, owner_logs = world
    pool = _pool(session)
    outputs = {**_outputs(key_id), "UserPoolId": pool}
    cfn = boto3.client("cloudformation", region_name=REGION)
    cloudfront = boto3.client("cloudfront", region_name=REGION)
    lines: list[str] = []
    csr = tmp_path / "sts-pi.csr"
    csr.write_text(robot_csr())
    args = ["deploy", "--stack", "mars", "--region", REGION, "--robot", "sts-pi",
            "--nasa-api-key", "K3Y", "--out", str(tmp_path), "--csr", f"sts-pi={csr}",
            "--owner", "ann@example.com", "--mfa", "optional"]
    questions: list[str] = []

    def yes(question):
        questions.append(question)
        return "y"

    throttles = template.throttle_parameters(1)
    with Stubber(cfn) as cfn_stub, Stubber(cloudfront) as cf_stub:
        for _ in range(2):  # the robots it had, then the status before the change set
            cfn_stub.add_client_error("describe_stacks", "ValidationError",
                                      "Stack with id mars does not exist")
        cfn_stub.add_response("create_change_set", {"Id": "cs"}, {
            "StackName": "mars", "ChangeSetName": ANY, "ChangeSetType": "CREATE",
            "TemplateURL": ANY, "Tags": [{"Key": "project", "Value": "mars-robot"}],
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
            "Description": ANY, "Parameters": sorted([
                {"ParameterKey": "IotDataEndpoint", "ParameterValue": ANY},
                {"ParameterKey": "Mfa", "ParameterValue": "OPTIONAL"},
                {"ParameterKey": "NasaApiKeyParameter", "ParameterValue": "/mars/nasa-api-key"},
                {"ParameterKey": "RobotNames", "ParameterValue": "sts-pi"},
                *({"ParameterKey": k, "ParameterValue": v} for k, v in throttles.items())],
                key=lambda p: p["ParameterKey"])})
        for _ in range(2):  # the waiter, then the deploy reading the changes
            cfn_stub.add_response("describe_change_set", {"Status": "CREATE_COMPLETE",
                                                          "Changes": []})
        cfn_stub.add_response("describe_stack_events",
                              {"StackEvents": [_event(0, "REVIEW_IN_PROGRESS")]})
        cfn_stub.add_response("execute_change_set", {})
        cfn_stub.add_response("describe_stack_events", {"StackEvents": [
            _event(1, "CREATE_COMPLETE"), _event(0, "REVIEW_IN_PROGRESS")]})
        cfn_stub.add_response("describe_stacks", _stack("CREATE_COMPLETE", outputs))
        cf_stub.add_response("create_invalidation", {}, {
            "DistributionId": "E123", "InvalidationBatch": ANY})
        hybrid = HybridSession(session, {"cloudformation": cfn, "cloudfront": cloudfront})
        code = cli.main(args, session_factory=lambda **kw: hybrid, emit=lines.append, ask=yes,
                        sleep=_no_wait)
        assert code == 0, lines
        cfn_stub.assert_no_pending_responses()
    assert questions == ["execute this change set on stack mars? [y/N] "]
    assert [c for log in owner_logs for c in log.unconditional()] == []
    key = session.client("ssm").get_parameter(Name="/mars/nasa-api-key", WithDecryption=True)
    assert (key["Parameter"]["Type"], key["Parameter"]["Value"]) == ("SecureString", "K3Y")
    assert not any("K3Y" in line for line in lines)

    s3 = session.client("s3")
    state = json.loads((tmp_path / "state.json").read_text())
    bucket = state["artifact_buckets"][f"123456789012/{REGION}"]
    assert bucket.startswith("mars-artifacts-") and "123456789012" not in bucket
    assert stat.S_IMODE((tmp_path / "state.json").stat().st_mode) == 0o600
    artifacts = s3.list_objects_v2(Bucket=bucket)["Contents"]
    keys = sorted(o["Key"] for o in artifacts)
    assert [k.split("/")[1].split("-")[0] for k in keys] == ["code", "layer", "template"]
    template_key = next(k for k in keys if "template-" in k)
    packaged = json.loads(s3.get_object(Bucket=bucket, Key=template_key)["Body"].read())
    code_uri = packaged["Resources"]["MarsApiFunction"]["Properties"]["CodeUri"]
    assert code_uri["Key"] in keys

    robot = tmp_path / "robots" / "sts-pi"
    assert stat.S_IMODE((robot / "certs" / "certificate.pem.crt").stat().st_mode) == 0o600
    assert not (robot / "certs" / "private.pem.key").exists()
    assert 'name = "sts-pi"' in (robot / "config.toml").read_text()
    settings = (tmp_path / "pyportal" / "settings.toml").read_text()
    assert 'MARS_API_URL = "https://d111.cloudfront.net"' in settings
    idp = session.client("cognito-idp")
    ann = idp.list_users(UserPoolId=pool)["Users"][0]["Username"]
    assert [g["GroupName"] for g in idp.admin_list_groups_for_user(
        UserPoolId=pool, Username=ann)["Groups"]] == ["robot-sts-pi"]
    if (provision.WEB_ROOT / "index.html").is_file():
        config = json.loads(s3.get_object(Bucket="mars-web-bucket", Key="config.json")["Body"]
                            .read())
        assert config["apiBase"] == outputs["WebUrl"].rstrip("/")
    assert any(line.startswith("IotDataEndpoint = ") for line in lines)
    assert "ApiUrl = https://abc.execute-api.eu-west-1.amazonaws.com/prod" in lines
    first_cert = session.client("iot").list_certificates()["certificates"]

    # the same command again: nothing uploaded, no change set executed, no second certificate,
    # no web file sent again and nothing invalidated
    cfn = boto3.client("cloudformation", region_name=REGION)
    cloudfront = boto3.client("cloudfront", region_name=REGION)
    lines.clear()
    with Stubber(cfn) as cfn_stub, Stubber(cloudfront) as cf_stub:
        for _ in range(2):
            cfn_stub.add_response("describe_stacks", _stack("CREATE_COMPLETE", outputs))
        cfn_stub.add_response("create_change_set", {"Id": "cs"})
        cfn_stub.add_response("describe_change_set", {
            "Status": "FAILED", "StatusReason": "The submitted information didn't contain "
                                                "changes."})
        cfn_stub.add_response("delete_change_set", {})
        cfn_stub.add_response("describe_stacks", _stack("CREATE_COMPLETE", outputs))
        hybrid = HybridSession(session, {"cloudformation": cfn, "cloudfront": cloudfront})
        assert cli.main(args, session_factory=lambda **kw: hybrid, emit=lines.append,
                        ask=yes, sleep=_no_wait) == 0
        cfn_stub.assert_no_pending_responses()
    assert "stack mars is up to date: nothing to change" in lines
    assert len(questions) == 1  # nothing to execute, nothing asked
    assert sum(line.startswith("unchanged build/") for line in lines) == 2
    assert session.client("iot").list_certificates()["certificates"] == first_cert
    assert any("kept its certificate" in line for line in lines)
    if (provision.WEB_ROOT / "index.html").is_file():
        assert "web page: 0 changed file(s) uploaded, config.json written" in lines


def test_removing_a_robot_releases_its_certificate_before_the_update(world, tmp_path):
    session, key_id, _ = world
    outputs = _outputs(key_id)
    iot = session.client("iot")
    endpoints = provision.iot_endpoints(iot)
    for name in ("sts-pi", "rover-2"):
        provision.provision_robot(iot, name, outputs, endpoints, REGION, tmp_path,
                                  csr=robot_csr(name))
    cfn = boto3.client("cloudformation", region_name=REGION)
    lines: list[str] = []
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", outputs,
                                                    "sts-pi,rover-2"))
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", outputs,
                                                    "sts-pi,rover-2"))
        stub.add_response("create_change_set", {"Id": "cs"}, {
            "StackName": "mars", "ChangeSetName": ANY, "ChangeSetType": "UPDATE",
            "TemplateURL": ANY, "Tags": ANY, "Capabilities": ANY, "Description": ANY,
            "Parameters": ANY})
        for _ in range(2):
            stub.add_response("describe_change_set", {"Status": "CREATE_COMPLETE",
                                                      "Changes": []})
        stub.add_response("describe_stack_events", {"StackEvents": [_event(0, "X")]})
        stub.add_response("execute_change_set", {})
        stub.add_response("describe_stack_events", {"StackEvents": [
            _event(1, "UPDATE_COMPLETE"), _event(0, "X")]})
        stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", outputs))
        hybrid = HybridSession(session, {"cloudformation": cfn, "cloudfront": boto3.client(
            "cloudfront", region_name=REGION)})
        with Stubber(hybrid.stubbed["cloudfront"]) as cf_stub:
            cf_stub.add_response("create_invalidation", {})
            assert cli.main(["deploy", "--stack", "mars", "--region", REGION, "--robot",
                             "sts-pi", "--out", str(tmp_path), "--yes"],
                            session_factory=lambda **kw: hybrid, emit=lines.append,
                            sleep=_no_wait) == 0, lines
        stub.assert_no_pending_responses()
    released = lines.index("released 1 certificate(s) of removed robot(s) rover-2")
    assert released < next(i for i, line in enumerate(lines) if "UPDATE_COMPLETE" in line)
    assert iot.list_thing_principals(thingName="rover-2")["principals"] == []
    assert len(iot.list_thing_principals(thingName="sts-pi")["principals"]) == 1


def test_revoke_takes_robots_away_now_and_signs_out(world, capsys):
    session, key_id, _ = world
    pool = _pool(session)
    idp, iam = session.client("cognito-idp"), session.client("iam")
    username = idp.admin_create_user(UserPoolId=pool, Username="bob@example.com", UserAttributes=[
        {"Name": "email", "Value": "bob@example.com"}])["User"]["Username"]
    for name in ("sts-pi", "rover-2"):
        idp.admin_add_user_to_group(UserPoolId=pool, Username=username,
                                    GroupName=f"robot-{name}")
    outputs = {**_outputs(key_id), "UserPoolId": pool,
               "ViewerRolestspiArn": "arn:aws:iam::123456789012:role/mars-ViewerRolestspi-X",
               "ViewerRolerover2Arn": "arn:aws:iam::123456789012:role/mars-ViewerRolerover2-X"}

    def revoke(*extra):
        cfn = boto3.client("cloudformation", region_name=REGION)
        lines: list[str] = []
        hybrid = HybridSession(session, {"cloudformation": cfn})
        with Stubber(cfn) as stub:
            stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", outputs,
                                                        "sts-pi,rover-2"))
            code = cli.main(["revoke", "--stack", "mars", "--region", REGION, "--user",
                             "bob@example.com", *extra],
                            session_factory=lambda **kw: hybrid, emit=lines.append)
        return code, lines

    def groups():
        return [g["GroupName"] for g in idp.admin_list_groups_for_user(
            UserPoolId=pool, Username=username)["Groups"]]

    code, lines = revoke("--robot", "rover-2")
    assert code == 0, capsys.readouterr().err
    assert groups() == ["robot-sts-pi"]
    assert idp.admin_get_user(UserPoolId=pool, Username=username)["Enabled"] is True
    policy = iam.get_role_policy(RoleName="mars-ViewerRolerover2-X",
                                 PolicyName="revoke-older-sessions")["PolicyDocument"]
    condition = policy["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert policy["Statement"][0]["Effect"] == "Deny" and condition.endswith("Z")
    assert iam.list_role_policies(RoleName="mars-ViewerRolestspi-X")["PolicyNames"] == []
    assert "bob@example.com signed out everywhere; no longer owns: rover-2" in lines
    code, lines = revoke()
    assert code == 0 and groups() == []
    assert idp.admin_get_user(UserPoolId=pool, Username=username)["Enabled"] is False
    assert cli.main(["revoke", "--stack", "mars", "--user", "nobody"]) == 2


def _resources(*pairs):
    return {"StackResourceSummaries": [
        {"LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": kind,
         "ResourceStatus": "CREATE_COMPLETE", "LastUpdatedTimestamp": T0}
        for logical, physical, kind in pairs]}


OWN = [("WebBucket", "mars-web-bucket", "AWS::S3::Bucket"),
       ("Thingstspi", "sts-pi", "AWS::IoT::Thing")]


def _destroy(session, stubbed_cfn, answer="mars", *extra):
    lines: list[str] = []
    asked: list[str] = []

    def ask(question):
        asked.append(question)
        return answer

    hybrid = HybridSession(session, {"cloudformation": stubbed_cfn})
    code = cli.main(["destroy", "--stack", "mars", "--region", REGION, *extra],
                    session_factory=lambda **kw: hybrid, emit=lines.append, ask=ask,
                    sleep=_no_wait)
    return code, lines, asked


def test_destroy_shows_what_goes_asks_for_the_name_and_deletes(world, tmp_path, capsys):
    session, key_id, owner_logs = world
    # the outputs name a store bucket that is not the stack's own: it is never emptied
    outputs = {**_outputs(key_id), "MarsStoreBucketName": "someone-elses-bucket"}
    s3 = session.client("s3")
    s3.put_object(Bucket="mars-web-bucket", Key="index.html", Body=b"<html>")
    s3.create_bucket(Bucket="someone-elses-bucket",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="someone-elses-bucket", Key="precious", Body=b"data")
    iot = session.client("iot")
    provision.provision_robot(iot, "sts-pi", outputs, provision.iot_endpoints(iot), REGION,
                              tmp_path, csr=robot_csr())
    tagged = _stack("UPDATE_COMPLETE", outputs)
    tagged["Stacks"][0]["Tags"] = [{"Key": "project", "Value": "mars-robot"}]
    cfn = boto3.client("cloudformation", region_name=REGION)
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", tagged)
        stub.add_response("list_stack_resources", _resources(*OWN))
        for _ in range(3):  # the plan's outputs, the policy name, destroy's status
            stub.add_response("describe_stacks", tagged)
        stub.add_response("describe_stack_events", {"StackEvents": [_event(0, "X")]})
        stub.add_response("delete_stack", {}, {"StackName": "mars"})
        stub.add_response("describe_stack_events", {"StackEvents": [
            _event(1, "DELETE_COMPLETE"), _event(0, "X")]})
        code, lines, asked = _destroy(session, cfn)
        assert code == 0, (lines, capsys.readouterr().err)
        stub.assert_no_pending_responses()
    assert asked == ["type the stack name (mars) to delete it: "]
    plan = lines[:next(i for i, line in enumerate(lines) if line.startswith(
        "  (the artifact bucket")) + 1]
    assert plan[0].startswith("destroy will delete stack mars in eu-west-1 (2 resources)")
    assert "  emptying s3://mars-web-bucket" in plan
    assert not any("someone-elses-bucket" in line for line in lines)
    assert "Contents" not in s3.list_objects_v2(Bucket="mars-web-bucket")
    assert s3.list_objects_v2(Bucket="someone-elses-bucket")["KeyCount"] == 1
    assert iot.list_certificates()["certificates"] == []
    assert "released 1 robot certificate(s)" in lines
    assert [c for log in owner_logs for c in log.unconditional()] == []


def test_destroy_refuses_a_stack_without_the_project_tag(world, capsys):
    session, key_id, _ = world
    s3 = session.client("s3")
    s3.put_object(Bucket="mars-web-bucket", Key="index.html", Body=b"<html>")
    cfn = boto3.client("cloudformation", region_name=REGION)
    untagged = _stack("UPDATE_COMPLETE", _outputs(key_id))
    del untagged["Stacks"][0]["Tags"]
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", untagged)
        code, lines, asked = _destroy(session, cfn, "mars", "--yes")
        stub.assert_no_pending_responses()  # no resource listed, nothing deleted
    assert code == 1 and asked == []
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: stack mars has no tag project=mars-robot: it was not deployed by "
                   "this tool; refusing to touch it"]
    assert s3.list_objects_v2(Bucket="mars-web-bucket")["KeyCount"] == 1


def test_destroy_without_the_typed_name_changes_nothing(world, capsys):
    session, key_id, _ = world
    s3 = session.client("s3")
    s3.put_object(Bucket="mars-web-bucket", Key="index.html", Body=b"<html>")
    tagged = _stack("UPDATE_COMPLETE", _outputs(key_id))
    tagged["Stacks"][0]["Tags"] = [{"Key": "project", "Value": "mars-robot"}]
    cfn = boto3.client("cloudformation", region_name=REGION)
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", tagged)
        stub.add_response("list_stack_resources", _resources(*OWN))
        stub.add_response("describe_stacks", tagged)
        code, lines, asked = _destroy(session, cfn, "y")
        stub.assert_no_pending_responses()
    assert code == 1 and len(asked) == 1
    assert "stack mars was not deleted" in capsys.readouterr().err
    assert s3.list_objects_v2(Bucket="mars-web-bucket")["KeyCount"] == 1


def test_stack_names_must_suit_bucket_and_domain_names():
    done = run("deploy", "--stack", "Mars", "--dry-run")
    assert done.returncode == 2 and "lower-case" in done.stderr
