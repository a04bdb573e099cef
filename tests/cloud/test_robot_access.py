"""Whose robot it is: the robot routes refuse (403) a signed-in person who does not own the
robot, from the token's groups and, in AWS, from the user pool read live (moto's Cognito), so a
person taken out of a robot's group is refused while their token is still valid."""

from __future__ import annotations

import json

import boto3
import pytest

from cloud import config as cloud_config
from cloud.robot import access, handler
from testing.robot_events import RecordingPublisher, call, load_event

REGION = "eu-west-1"


def claims(user: str, groups: str) -> dict:
    return {"sub": f"id-{user}", "cognito:username": user, "cognito:groups": groups,
            "token_use": "id"}


@pytest.fixture
def published():
    publisher = RecordingPublisher({"sts-pi": {"online": True}})
    handler.use(publisher, config=cloud_config.load({"ROBOT_NAMES": "sts-pi,rover-2"}))
    yield publisher.sent
    handler.use()


@pytest.mark.parametrize("value", ["robot-rover-2", "robot-rover-2,robot-x", "[robot-rover-2 x]",
                                   ["robot-rover-2"]])
def test_group_claims_are_read_in_every_shape_api_gateway_gives(value):
    assert "robot-rover-2" in access.token_groups({"cognito:groups": value})
    assert access.token_groups({}) == frozenset()


def test_a_person_drives_and_reads_only_their_own_robot(published):
    bob = claims("bob", "robot-rover-2")
    status, body = call(load_event(robot="sts-pi", claims=bob))
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    assert "sts-pi" in body["error"]["message"] and "--owner" in body["error"]["message"]
    status, _ = call(load_event(path="/robot/sts-pi/status", resource="/robot/{name}/status",
                                method="GET", robot="sts-pi", body=None, claims=bob), status=True)
    assert status == 403
    legacy = load_event(path="/publish", resource="/publish", body={"action": "forward"},
                        claims=bob)
    assert call(legacy)[0] == 403  # /publish drives the first robot, which is not bob's
    assert published == []  # nothing reached any robot
    status, body = call(load_event(robot="rover-2", claims=bob))
    assert status == 202 and published[0][0] == "robot/rover-2/cmd"
    nobody = claims("eve", "")
    assert call(load_event(robot="rover-2", claims=nobody))[0] == 403


@pytest.fixture
def pool(monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from moto import mock_aws  # here: only the worker running this file loads moto

    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool_id = idp.create_user_pool(PoolName="mars-users")["UserPool"]["Id"]
        for robot in ("sts-pi", "rover-2"):
            idp.create_group(GroupName=access.group(robot), UserPoolId=pool_id)
        idp.admin_create_user(UserPoolId=pool_id, Username="bob")
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username="bob", GroupName="robot-sts-pi")
        yield idp, pool_id


def test_removing_someone_from_a_robot_takes_effect_before_their_token_expires(pool):
    idp, pool_id = pool
    publisher = RecordingPublisher()
    handler.use(publisher, config=cloud_config.load({"ROBOT_NAMES": "sts-pi,rover-2",
                                                     "USER_POOL_ID": pool_id}))
    try:
        # the token claims both robots; the pool knows better
        token = claims("bob", "robot-sts-pi,robot-rover-2")
        assert call(load_event(robot="sts-pi", claims=token))[0] == 202
        assert call(load_event(robot="rover-2", claims=token))[0] == 403
        idp.admin_remove_user_from_group(UserPoolId=pool_id, Username="bob",
                                         GroupName="robot-sts-pi")
        clock = [0.0]
        owners = access.Directory(handler._owners.get().lookup, clock=lambda: clock[0])
        handler._owners.set(owners)
        assert call(load_event(robot="sts-pi", claims=token))[0] == 403
        assert len(publisher.sent) == 1
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username="bob", GroupName="robot-sts-pi")
        assert call(load_event(robot="sts-pi", claims=token))[0] == 403  # kept a few seconds
        clock[0] = access.LIVE_TTL_S
        assert call(load_event(robot="sts-pi", claims=token))[0] == 202
        gone = claims("mallory", "robot-sts-pi")  # a user the pool does not (or no longer) have
        status, body = call(load_event(robot="sts-pi", claims=gone))
        assert status == 403 and json.dumps(body).count("FORBIDDEN") == 1
    finally:
        handler.use()
