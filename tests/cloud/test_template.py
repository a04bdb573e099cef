"""cloud/template.yaml: cfn-lint clean, routes equal to cloud/routes.py, and the SAM transform
succeeds offline on the packaged template for more than one robot. At scale and least
privilege: throttles equal to cloud/routes.py and sized per robot, a usage plan sized for a
fleet, CloudFront caching /mars and the bitmaps, owners' groups and viewer roles per robot,
optional TOTP, and no IAM wildcard that can be scoped."""

from __future__ import annotations

import json

import pytest

from cloud import config as cloud_config
from cloud.routes import DEFAULT_THROTTLE, ROUTES
from tools.deploy import provision, template, usage

ROBOTS = "sts-pi,rover_2"
PARAMS = {"RobotNames": ROBOTS, "AlarmEmail": "owner@example.com"}


@pytest.fixture(scope="module")
def source():
    return template.load()


@pytest.fixture(scope="module")
def translated(source):
    # imported here, not at the top: every test worker collects this file, one runs it
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

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
        assert ("USER_POOL_ID" in own) == name.startswith("Robot"), name
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
    assert usage["Quota"]["Limit"] == {"Ref": "DeviceDailyQuota"}
    assert usage["Throttle"]["RateLimit"] == {"Ref": "DeviceRateLimit"}


def test_a_thing_a_channel_and_grants_per_robot(translated):
    resources = translated["Resources"]
    for name, ident in (("sts-pi", "stspi"), ("rover_2", "rover2")):
        assert resources[f"Thing{ident}"]["Properties"]["ThingName"] == name
        channel = resources[f"Channel{ident}"]["Properties"]
        assert channel == {"Name": name, "Type": "SINGLE_MASTER", "MessageTtlSeconds": 60}
        role = resources[f"ViewerRole{ident}"]["Properties"]
        viewer = role["Policies"][0]["PolicyDocument"]
        actions = viewer["Statement"][0]["Action"]
        assert "kinesisvideo:ConnectAsViewer" in actions
        assert "kinesisvideo:ConnectAsMaster" not in actions
        assert viewer["Statement"][0]["Resource"] == {"Fn::GetAtt": [f"Channel{ident}", "Arn"]}
        owners = resources[f"Owners{ident}"]["Properties"]
        assert owners["RoleArn"] == {"Fn::GetAtt": [f"ViewerRole{ident}", "Arn"]}
        assert owners["GroupName"] == {"Fn::Join": ["-", ["robot", name]]}
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
    mars = routed.pop("/mars*")  # PyPortals and the Mars tab: read-only, cached per key
    assert "AllowedMethods" not in mars  # CloudFront's default: GET and HEAD
    assert mars["CachePolicyId"] == {"Ref": "MarsCachePolicy"}
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
    role = translated["Resources"]["MarsApiRole"]["Properties"]
    store = next(p for p in role["Policies"] if p["PolicyName"] == "mars-store")
    statements = store["PolicyDocument"]["Statement"]
    actions = sorted(a for st in statements
                     for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"]))
    assert actions == ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]
    assert statements[0]["Resource"] == {"Fn::Sub": "${MarsStoreBucket.Arn}/mars/*"}
    assert statements[1]["Condition"] == {"StringLikeIfExists": {"s3:prefix": ["mars/*"]}}
    # and read the NASA key's SecureString (tests/cloud/test_mars_secrets.py checks the scope)
    key = next(p for p in role["Policies"] if p["PolicyName"] == "nasa-key")
    assert sorted(st["Action"] for st in key["PolicyDocument"]["Statement"]) == [
        "kms:Decrypt", "ssm:GetParameter"]


def test_outputs_cover_what_devices_and_the_page_need(translated):
    assert {"ApiUrl", "ApiKeyId", "WebUrl", "UserPoolId", "UserPoolClientId", "IdentityPoolId",
            "AuthDomain", "RobotPolicyName", "RobotRoleAlias", "Channelstspi" "Arn",
            "Channelrover2Arn"} <= set(translated["Outputs"])


def test_expand_refuses_names_that_collide():
    with pytest.raises(template.TemplateError, match="twice"):
        template.expand(template.load(), {"RobotNames": "sts-pi,stspi"})


# ---------------------------------------------------------------- scale and least privilege

def _api(source):
    return source["Resources"]["Api"]["Properties"]


def _value(node, defaults):
    return float(defaults[node["Ref"]]) if isinstance(node, dict) else float(node)


def test_method_throttles_are_the_routes_and_grow_with_the_robots(source):
    defaults = template.parameter_defaults(source)
    settings = {(s["HttpMethod"], s["ResourcePath"]): s for s in _api(source)["MethodSettings"]}
    stage = settings.pop(("*", "/*"))
    assert (stage["ThrottlingRateLimit"], stage["ThrottlingBurstLimit"]) == (
        DEFAULT_THROTTLE.rate, DEFAULT_THROTTLE.burst)
    for route in ROUTES:
        encoded = "/" + route.path.replace("/", "~1")
        setting = settings.pop((route.method, encoded), None)
        if route.throttle is None:
            assert setting is None, route.path
            continue
        assert setting is not None and setting["MetricsEnabled"] is False, route.path
        rate = _value(setting["ThrottlingRateLimit"], defaults)
        burst = _value(setting["ThrottlingBurstLimit"], defaults)
        assert (rate, burst) == (route.throttle.rate, route.throttle.burst), route.path
        if route.throttle.per_robot:  # deploy multiplies it by the number of robots
            names = template.THROTTLE_PARAMETERS[(route.method, route.path)]
            assert setting["ThrottlingRateLimit"] == {"Ref": names[0]}
            assert template.throttle_parameters(100)[names[0]] == f"{route.throttle.rate * 100:g}"
    assert settings == {}
    # a joystick over HTTP: a changed command every ANALOG_MS and the repeat every REPEAT_MS
    rates = usage.Rates.shipped(source)
    joystick = next(r for r in ROUTES if r.path == "/robot/{name}/cmd").throttle
    assert joystick.rate >= rates.commands_per_s + 1000 / rates.repeat_ms


def test_the_device_plan_is_sized_for_a_thousand_boards_without_any_cache(source):
    defaults = template.parameter_defaults(source)
    rates = usage.Rates.shipped(source)
    per_day = 1000 * 86400 / rates.refresh_s * (1 + rates.bitmaps_per_refresh)
    assert float(defaults["DeviceDailyQuota"]) >= 2 * per_day
    plan = source["Resources"]["DeviceUsagePlan"]["Properties"]
    assert plan["Quota"]["Limit"] == {"Ref": "DeviceDailyQuota"}
    assert rates.rotation_s >= provision.PYPORTAL_REFRESH_MINUTES * 60


def test_cloudfront_caches_mars_per_key_and_the_bitmaps_for_a_year(translated):
    resources = translated["Resources"]
    web = resources["WebDistribution"]["Properties"]["DistributionConfig"]
    mars = next(b for b in web["CacheBehaviors"] if b["PathPattern"] == "/mars*")
    assert mars["CachePolicyId"] == {"Ref": "MarsCachePolicy"} and mars["Compress"] is True
    assert "OriginRequestPolicyId" not in mars  # only the cache key reaches the API
    config = resources["MarsCachePolicy"]["Properties"]["CachePolicyConfig"]
    keyed = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keyed["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["x-api-key"]}
    assert keyed["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert keyed["CookiesConfig"] == {"CookieBehavior": "none"}
    assert config["DefaultTTL"] == 0  # only what the API says may be cached is
    assert config["MaxTTL"] >= 365 * 86400  # the bitmaps' immutable year


def _statements(resource):
    for policy in resource["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            yield policy["PolicyName"], statement


def test_no_role_carries_a_wildcard_that_can_be_scoped(translated):
    roles = {k: v for k, v in translated["Resources"].items() if v["Type"] == "AWS::IAM::Role"}
    assert not [k for k, v in roles.items() if v["Properties"].get("ManagedPolicyArns")]
    for name, role in roles.items():
        for policy, statement in _statements(role):
            if isinstance(statement, dict) and "Fn::If" in statement:
                condition, _, otherwise = statement["Fn::If"]
                assert condition == "HasIotDataEndpoint"  # only without the endpoint given
                assert otherwise["Action"] == "iot:DescribeEndpoint"
                continue
            assert statement["Resource"] != "*", (name, policy)
            assert "*" not in str(statement.get("Action")) or statement["Effect"] == "Deny"
    for function, group in (("MarsApiRole", "MarsApiLogGroup"),
                            ("RobotStatusRole", "RobotStatusLogGroup")):
        logs = [s for p, s in _statements(roles[function]) if p == "logs"]
        assert logs == [{"Effect": "Allow", "Action": ["logs:CreateLogStream",
                                                       "logs:PutLogEvents"],
                         "Resource": {"Fn::GetAtt": [group, "Arn"]}}]
    groups = {k: v for k, v in translated["Resources"].items()
              if v["Type"] == "AWS::CodeDeploy::DeploymentGroup"}
    assert groups and all(g["Properties"]["ServiceRoleArn"] == {
        "Fn::GetAtt": ["CodeDeployRole", "Arn"]} for g in groups.values())
    account = [s for _, s in _statements(roles["ApiGatewayLogRole"])][0]
    assert account["Resource"]["Fn::Sub"].endswith(":${AWS::AccountId}:log-group:*")


def test_each_robot_has_owners_whose_role_watches_only_it(translated):
    resources = translated["Resources"]
    mapping = resources["IdentityPoolRoles"]["Properties"]["RoleMappings"]["users"]
    assert (mapping["Type"], mapping["AmbiguousRoleResolution"]) == ("Token", "Deny")
    nobody = resources["NoRobotRole"]["Properties"]
    assert nobody["AssumeRolePolicyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "Policies" not in nobody
    for ident in ("stspi", "rover2"):
        role = resources[f"ViewerRole{ident}"]["Properties"]
        trust = role["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:aud"] == {
            "Ref": "IdentityPool"}
        statement = role["Policies"][0]["PolicyDocument"]["Statement"]
        assert len(statement) == 1 and statement[0]["Resource"] == {
            "Fn::GetAtt": [f"Channel{ident}", "Arn"]}
    assert {"ViewerRolestspiArn", "ViewerRolerover2Arn"} <= set(translated["Outputs"])
    # the robot functions read whose robot it is from the user pool, nothing more
    env = resources["RobotCommandFunction"]["Properties"]["Environment"]["Variables"]
    assert env["USER_POOL_ID"] == {"Ref": "UserPool"}
    run = json.dumps([s for p, s in _statements(resources["RobotCommandRole"]) if p == "run"])
    assert "cognito-idp:AdminListGroupsForUser" in run and '"UserPool", "Arn"' in run


def test_drivers_may_add_an_authenticator_app(source):
    assert source["Parameters"]["Mfa"]["AllowedValues"] == ["OFF", "OPTIONAL"]
    assert source["Parameters"]["Mfa"]["Default"] == "OFF"
    pool = source["Resources"]["UserPool"]["Properties"]
    assert pool["MfaConfiguration"] == {"Ref": "Mfa"}
    assert pool["EnabledMfas"] == {"Fn::If": ["HasMfa", ["SOFTWARE_TOKEN_MFA"],
                                              {"Ref": "AWS::NoValue"}]}
