"""cloud/template.yaml: cfn-lint clean, routes equal to cloud/routes.py, and the SAM transform
succeeds offline on the packaged template for more than one robot."""

from __future__ import annotations

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from cloud import config as cloud_config
from cloud.routes import ROUTES
from tools.deploy import template

ROBOTS = "sts-pi,rover_2"
PARAMS = {"RobotNames": ROBOTS, "AlarmEmail": "owner@example.com"}


@pytest.fixture(scope="module")
def source():
    return template.load()


@pytest.fixture(scope="module")
def translated(source):
    packaged = template.package(source, {"build/code": ("artifacts", "code-1.zip"),
                                         "build/layer": ("artifacts", "layer-1.zip")})
    expanded = template.expand(packaged, PARAMS)
    session = boto3.Session(region_name="eu-west-1", aws_access_key_id="offline",
                            aws_secret_access_key="offline")
    translator = Translator({}, Parser(), boto_session=session)
    # the managed-policy loader would ask IAM; the template names no managed policy itself
    return translator.translate(expanded, PARAMS, get_managed_policy_map=lambda: {})


def _lint(text: str) -> list[str]:
    from cfnlint.api import ManualArgs, lint

    # the regions a maker is likely to pick; errors and warnings, as the cfn-lint CLI reports
    config = ManualArgs(regions=["us-east-1", "eu-west-1", "ap-southeast-2"])
    return [str(m) for m in lint(text, config=config)]


# The clean lint itself: tests/cloud/test_template_scan.py (informational rules included).


def test_cfn_lint_catches_a_broken_template():
    broken = template.TEMPLATE.read_text().replace("Runtime: python3.12", "Runtime: python2.7")
    assert any("python2.7" in m for m in _lint(broken))


def _api_events(source):
    for logical_id, resource in source["Resources"].items():
        if logical_id.startswith(template.FOREACH):
            continue
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        for event in props.get("Events", {}).values():
            if event["Type"] == "Api":
                yield props["Handler"], event["Properties"]


def _auth_kind(event_properties):
    auth = event_properties.get("Auth", {})
    if auth.get("ApiKeyRequired"):
        return "api_key"
    if auth.get("Authorizer") == "CognitoAuth":
        return "user"
    return "none"


def test_routes_match_cloud_routes_exactly(source):
    in_template = set()
    for handler, props in _api_events(source):
        module, function = handler.rsplit(".", 1)
        in_template.add((props["Method"], props["Path"], f"{module}:{function}",
                         _auth_kind(props)))
    expected = {(r.method, r.path, r.handler, r.auth) for r in ROUTES}
    assert in_template == expected
    assert not any("proxy+" in path for _, path, _, _ in in_template)


def test_scheduled_refresh_uses_the_refresh_handler(source):
    refresh = source["Resources"]["MarsRefreshFunction"]["Properties"]
    assert refresh["Handler"] == "cloud.mars.refresh.lambda_handler"
    assert refresh["Events"]["Every10Minutes"]["Properties"]["Schedule"] == "rate(10 minutes)"


def test_function_environment_names_are_cloud_settings(source):
    env = source["Globals"]["Function"]["Environment"]["Variables"]
    known = {s.env for s in cloud_config.SETTINGS}
    powertools = {k for k in env if k.startswith("POWERTOOLS_")}
    assert set(env) - powertools <= known
    assert {"MARS_STORE", "ROBOT_NAMES", "LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"} <= set(env)
    assert "NasaApiKey" not in source["Parameters"]  # the key itself is in SSM, not here
    # the NASA key's parameter goes to the Mars functions only, never to the robot ones
    for name, resource in source["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        own = resource["Properties"]["Environment"]["Variables"]
        assert set(own) - {"POWERTOOLS_SERVICE_NAME"} <= known
        assert ("NASA_API_KEY_PARAMETER" in own) == name.startswith("Mars"), name
        assert "NASA_API_KEY" not in own
    assert not {"NASA_API_KEY", "NASA_API_KEY_PARAMETER"} & set(env)


def test_the_transform_makes_arm64_python312_functions_with_their_log_groups(translated):
    functions = {k: v["Properties"] for k, v in translated["Resources"].items()
                 if v["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == {"MarsApiFunction", "MarsRefreshFunction", "RobotCommandFunction",
                              "RobotStatusFunction"}
    for props in functions.values():
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.12"
        assert "TracingConfig" not in props  # X-Ray traces are paid; logs carry the ids
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert translated["Resources"][group]["Properties"]["RetentionInDays"] == {
            "Ref": "LogRetentionDays"}
        assert props["Code"] == {"S3Bucket": "artifacts", "S3Key": "code-1.zip"}
        assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] in ("mars", "robot")


def test_each_function_has_a_live_alias_and_a_canary_rolled_back_by_its_alarm(translated):
    resources = translated["Resources"]
    for name in ("MarsApiFunction", "MarsRefreshFunction", "RobotCommandFunction",
                 "RobotStatusFunction"):
        assert resources[f"{name}Aliaslive"]["Type"] == "AWS::Lambda::Alias"
        group = resources[f"{name}DeploymentGroup"]["Properties"]
        alarms = group["AlarmConfiguration"]["Alarms"]
        assert alarms and group["AlarmConfiguration"]["Enabled"] is True
        assert "AutoRollbackConfiguration" in group


def test_the_api_has_key_and_cognito_auth_and_validates_commands(translated):
    body = translated["Resources"]["Api"]["Properties"]["Body"]
    paths = body["paths"]
    assert set(paths) == {r.path for r in ROUTES}
    assert paths["/mars"]["get"]["security"] == [{"api_key": []}]
    command = paths["/robot/{name}/cmd"]["post"]
    assert command["security"] == [{"CognitoAuth": []}]
    assert command["x-amazon-apigateway-request-validator"] == "body-only"
    schema = body["definitions"]["robotcommand"]
    assert schema["properties"]["action"]["enum"][:2] == ["forward", "backward"]
    assert schema["properties"]["duration_ms"] == {"type": "integer", "minimum": 50,
                                                   "maximum": 1000}
    # no CORS at all: the page calls the API through its own distribution (same origin)
    assert not any("options" in methods for methods in paths.values())
    usage = translated["Resources"]["DeviceUsagePlan"]["Properties"]
    assert usage["Quota"]["Limit"] > 0 and usage["Throttle"]["RateLimit"] > 0


def test_a_thing_a_channel_and_grants_per_robot(translated):
    resources = translated["Resources"]
    for name, ident in (("sts-pi", "stspi"), ("rover_2", "rover2")):
        assert resources[f"Thing{ident}"]["Properties"]["ThingName"] == name
        channel = resources[f"Channel{ident}"]["Properties"]
        assert channel == {"Name": name, "Type": "SINGLE_MASTER", "MessageTtlSeconds": 60}
        viewer = resources[f"ViewerPolicy{ident}"]["Properties"]["PolicyDocument"]
        actions = viewer["Statement"][0]["Action"]
        assert "kinesisvideo:ConnectAsViewer" in actions
        assert "kinesisvideo:ConnectAsMaster" not in actions
        assert viewer["Statement"][0]["Resource"] == {"Fn::GetAtt": [f"Channel{ident}", "Arn"]}
        publish = resources[f"CommandPolicy{ident}"]["Properties"]["PolicyDocument"]
        assert publish["Statement"][0]["Resource"]["Fn::Sub"].endswith(f"topic/robot/{name}/cmd")
    assert f"Channel{'stspi'}Arn" in translated["Outputs"]


def test_buckets_are_private_and_encrypted(translated):
    for name in ("MarsStoreBucket", "WebBucket"):
        props = translated["Resources"][name]["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert "AccessControl" not in props
    rules = translated["Resources"]["MarsStoreBucket"]["Properties"]["LifecycleConfiguration"]
    expire = next(r for r in rules["Rules"] if r["Id"] == "ExpireOldBitmaps")
    assert expire["Prefix"] == "mars/bmp/"  # cloud/mars/store.py keeps bitmaps under bmp/
    web = translated["Resources"]["WebDistribution"]["Properties"]["DistributionConfig"]
    assert web["Origins"][0]["OriginAccessControlId"]


def test_the_page_reaches_the_robot_routes_through_its_own_distribution(translated):
    web = translated["Resources"]["WebDistribution"]["Properties"]["DistributionConfig"]
    api = next(o for o in web["Origins"] if o["Id"] == "api")
    assert api["OriginPath"] == "/prod"
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    routed = {b["PathPattern"]: b for b in web["CacheBehaviors"] if b["TargetOriginId"] == "api"}
    for route in ROUTES:
        if route.auth == "user":
            prefix = route.path.split("{")[0]
            assert any(prefix.startswith(p.rstrip("*")) or p == route.path for p in routed), \
                route.path
    mars = routed.pop("/mars*")  # the Mars tab: read-only, never cached, x-api-key passed on
    assert "AllowedMethods" not in mars  # CloudFront's default: GET and HEAD
    assert mars["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert mars["OriginRequestPolicyId"]
    for behaviour in routed.values():
        assert "POST" in behaviour["AllowedMethods"]
        assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
        assert behaviour["OriginRequestPolicyId"]  # passes Authorization on


def test_alarms_watch_free_metrics_and_notify_the_topic(translated):
    resources = translated["Resources"]
    alarms = {k: v for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert {"Api5xxAlarm", "MarsRefreshErrorsAlarm"} <= set(alarms)
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        if alarm.get("Condition") != "HasCustomMetrics":  # AWS's own metrics, no custom ones
            assert alarm["Properties"]["Namespace"].startswith("AWS/"), name
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    assert not any(v["Type"] == "AWS::CloudWatch::Dashboard" for v in resources.values())
    refresh = resources["MarsRefreshFunctionEventInvokeConfig"]["Properties"]
    assert refresh["MaximumRetryAttempts"] == 0
    assert refresh["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["RefreshFailureQueue", "Arn"]}


def test_the_page_gets_security_headers(translated):
    web = translated["Resources"]["WebDistribution"]["Properties"]["DistributionConfig"]
    policy = {"Ref": "WebSecurityHeaders"}
    assert web["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == policy
    headers = translated["Resources"]["WebSecurityHeaders"]["Properties"][
        "ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    # the Mars tab shows NASA's originals, from NASA's image hosts only
    assert "img-src 'self' data: blob: https://mars.nasa.gov https://mars.jpl.nasa.gov;" in csp
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000


def test_the_video_role_trusts_only_this_stacks_role_alias(translated):
    trust = translated["Resources"]["RobotVideoRole"]["Properties"]["AssumeRolePolicyDocument"]
    condition = trust["Statement"][0]["Condition"]
    assert condition["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert condition["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].endswith(
        ":rolealias/${AWS::StackName}-robot-video")


def test_the_user_pool_survives_a_destroy(translated):
    pool = translated["Resources"]["UserPool"]
    assert pool["DeletionPolicy"] == "Retain"
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"


def test_the_functions_may_touch_only_the_store_prefix(translated):
    role = translated["Resources"]["MarsApiFunctionRole"]["Properties"]
    actions = sorted(a for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]
                     for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"]))
    # and read the NASA key's SecureString (tests/cloud/test_mars_secrets.py checks the scope)
    assert actions == ["kms:Decrypt", "s3:GetObject", "s3:ListBucket", "s3:PutObject",
                       "ssm:GetParameter"]


def test_outputs_cover_what_devices_and_the_page_need(translated):
    assert {"ApiUrl", "ApiKeyId", "WebUrl", "UserPoolId", "UserPoolClientId", "IdentityPoolId",
            "AuthDomain", "RobotPolicyName", "RobotRoleAlias", "Channelstspi" "Arn",
            "Channelrover2Arn"} <= set(translated["Outputs"])


def test_expand_refuses_names_that_collide():
    with pytest.raises(template.TemplateError, match="twice"):
        template.expand(template.load(), {"RobotNames": "sts-pi,stspi"})
