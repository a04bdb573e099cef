"""The robots' IoT policy, evaluated with policy variables: each robot is confined to itself."""

from __future__ import annotations

import pytest

from testing.iot_policy import (
    ACCOUNT,
    ALIAS_ARN,
    IOT,
    REGION,
    Request,
    allowed,
    ask,
    connection,
    resolve,
    template_policy,
)
from tools.deploy import template


@pytest.fixture(scope="module", params=[False, True], ids=["default", "legacy-topic"])
def policy(request):
    return template_policy(request.param)


def test_the_legacy_action_topic_is_off_unless_enabled():
    assert not ask(template_policy(False), "iot:Subscribe", "topicfilter/sts-pi/action")
    assert not ask(template_policy(False), "iot:Receive", "topic/sts-pi/action")
    assert ask(template_policy(True), "iot:Subscribe", "topicfilter/sts-pi/action")
    assert ask(template_policy(True), "iot:Receive", "topic/sts-pi/action")



def test_the_escape_leaves_a_policy_variable_for_iot(policy):
    connect = next(s for s in policy["Statement"] if s["Action"] == "iot:Connect")
    assert connect["Resource"] == f"{IOT}:client/${{iot:Connection.Thing.ThingName}}"


def test_a_robot_may_connect_as_itself_only(policy):
    assert ask(policy, "iot:Connect", "client/sts-pi")
    assert not ask(policy, "iot:Connect", "client/rover-2")
    assert not ask(policy, "iot:Connect", "client/sts-pi-helper")


def test_a_certificate_without_a_thing_may_not_connect(policy):
    assert not ask(policy, "iot:Connect", "client/sts-pi", thing=None, client_id="sts-pi")


def test_a_robot_receives_its_own_commands(policy):
    assert ask(policy, "iot:Subscribe", "topicfilter/robot/sts-pi/cmd")
    assert ask(policy, "iot:Receive", "topic/robot/sts-pi/cmd")


def test_a_robot_cannot_listen_to_another_robot_or_to_wildcards(policy):
    assert not ask(policy, "iot:Subscribe", "topicfilter/robot/rover-2/cmd")
    assert not ask(policy, "iot:Receive", "topic/robot/rover-2/cmd")
    assert not ask(policy, "iot:Subscribe", "topicfilter/robot/+/cmd")
    assert not ask(policy, "iot:Subscribe", "topicfilter/robot/#")
    assert not ask(policy, "iot:Subscribe", "topicfilter/robot/rover-2/status")


def test_a_robot_publishes_its_own_status_and_telemetry(policy):
    assert ask(policy, "iot:Publish", "topic/robot/sts-pi/status")
    assert ask(policy, "iot:Publish", "topic/robot/sts-pi/telemetry")
    assert ask(policy, "iot:RetainPublish", "topic/robot/sts-pi/status")


def test_a_robot_cannot_publish_elsewhere(policy):
    assert not ask(policy, "iot:Publish", "topic/robot/rover-2/status")
    assert not ask(policy, "iot:Publish", "topic/robot/rover-2/telemetry")
    assert not ask(policy, "iot:RetainPublish", "topic/robot/sts-pi/telemetry")
    # no robot may command a robot, itself included: commands come from the cloud
    assert not ask(policy, "iot:Publish", "topic/robot/sts-pi/cmd")
    assert not ask(policy, "iot:Publish", "topic/robot/rover-2/cmd")


def test_a_robot_may_assume_the_video_role_alias_only(policy):
    assert allowed(policy, Request("iot:AssumeRoleWithCertificate", ALIAS_ARN,
                                   connection("sts-pi")))
    assert not allowed(policy, Request("iot:AssumeRoleWithCertificate",
                                       f"{IOT}:rolealias/admin", connection("sts-pi")))


def test_no_statement_uses_a_wildcard_action_or_resource(policy):
    for statement in policy["Statement"]:
        assert "*" not in statement["Action"]
        for resource in statement["Resource"] if isinstance(statement["Resource"], list) \
                else [statement["Resource"]]:
            assert "*" not in resource, resource


def test_the_matcher_itself_denies_what_it_should():
    doc = {"Statement": [
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": f"{IOT}:topic/a/*"},
        {"Effect": "Deny", "Action": "iot:Publish", "Resource": f"{IOT}:topic/a/secret"}]}
    assert allowed(doc, Request("iot:Publish", f"{IOT}:topic/a/b", {}))
    assert not allowed(doc, Request("iot:Publish", f"{IOT}:topic/a/secret", {}))
    assert not allowed(doc, Request("iot:Receive", f"{IOT}:topic/a/b", {}))
    # a variable's value is literal: a thing named "*" gets nothing extra
    var = {"Statement": [{"Effect": "Allow", "Action": "iot:Connect",
                          "Resource": f"{IOT}:client/${{iot:Connection.Thing.ThingName}}"}]}
    assert not allowed(var, Request("iot:Connect", f"{IOT}:client/x", connection("*")))


def test_the_video_role_is_scoped_to_the_robots_own_channel():
    role = template.load()["Resources"]["RobotVideoRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "credentials.iot.amazonaws.com"}
    statement = role["Policies"][0]["PolicyDocument"]["Statement"][0]
    resource = resolve(statement["Resource"])
    assert resource == (f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:channel/"
                        "${credentials-iot:ThingName}/*")
    assert "kinesisvideo:ConnectAsMaster" in statement["Action"]
    ctx = {"credentials-iot:ThingName": "sts-pi"}
    doc = {"Statement": [{**statement, "Resource": resource}]}
    own = f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:channel/sts-pi/1700000000000"
    other = f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:channel/rover-2/1700000000000"
    assert allowed(doc, Request("kinesisvideo:ConnectAsMaster", own, ctx))
    assert not allowed(doc, Request("kinesisvideo:ConnectAsMaster", other, ctx))
