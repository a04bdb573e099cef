"""The local broker's rules are the IoT policy's: for every robot action and topic, the embedded
broker (tools/stack/mqtt_acl.py) answers what AWS IoT Core answers for the robot's certificate
(cloud/template.yaml's RobotPolicy, evaluated with its policy variables)."""

from __future__ import annotations

import pytest

from testing.iot_policy import ask, template_policy
from tools.stack import mqtt_acl

ROBOTS = ["sts-pi", "rover-2"]
TOPICS = ["robot/sts-pi/cmd", "robot/sts-pi/status", "robot/sts-pi/telemetry", "sts-pi/action",
          "robot/rover-2/cmd", "robot/rover-2/status", "robot/rover-2/telemetry",
          "rover-2/action", "robot/sts-pi/other", "$aws/things/sts-pi/shadow/update"]
IOT_ACTION = {"subscribe": ("iot:Subscribe", "topicfilter"), "receive": ("iot:Receive", "topic"),
              "publish": ("iot:Publish", "topic"), "retain": ("iot:RetainPublish", "topic")}


@pytest.fixture(scope="module")
def policy():
    # the legacy topic enabled, as the local agent subscribes to it
    return template_policy(legacy=True)


@pytest.mark.parametrize("action", sorted(IOT_ACTION))
@pytest.mark.parametrize("topic", TOPICS)
def test_a_robot_may_do_locally_what_its_certificate_may_do_in_aws(policy, action, topic):
    iot_action, kind = IOT_ACTION[action]
    in_aws = ask(policy, iot_action, f"{kind}/{topic}", thing="sts-pi")
    if action == "retain":  # IoT asks for both: a retained publish is a publish too
        in_aws = in_aws and ask(policy, "iot:Publish", f"topic/{topic}")
    locally = mqtt_acl.may(mqtt_acl.acl(ROBOTS)["sts-pi"], action, topic)
    assert locally == in_aws


def test_only_the_command_publisher_publishes_commands_and_nobody_the_legacy_topic():
    rules = mqtt_acl.acl(ROBOTS)
    for user, rule in rules.items():
        for name in ROBOTS:
            assert mqtt_acl.may(rule, "publish", f"robot/{name}/cmd") == (user == "cloud")
            assert not mqtt_acl.may(rule, "publish", f"{name}/action")
            assert not mqtt_acl.may(rule, "retain", f"robot/{name}/cmd")
