"""The AWS publisher: iot-data on the account's Data-ATS endpoint (botocore Stubber)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from cloud import config as cloud_config
from cloud.robot.errors import PublishFailed
from cloud.robot.publisher import IotDataPublisher, from_config

ENDPOINT = "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com"


class StubbedSession:
    """A boto3 session whose clients are stubbed; counts the clients it made."""

    def __init__(self) -> None:
        self.session = boto3.session.Session(region_name="eu-west-1",
                                             aws_access_key_id="test",
                                             aws_secret_access_key="test")
        self.made: list[tuple[str, str | None]] = []
        self.stubs: dict[str, Stubber] = {}
        self.iot = self.session.client("iot")
        self.stubs["iot"] = Stubber(self.iot)

    def client(self, service, endpoint_url=None):
        self.made.append((service, endpoint_url))
        if service == "iot":
            return self.iot
        client = self.session.client(service, endpoint_url=endpoint_url)
        self.stubs[service] = stub = Stubber(client)
        self.configure(stub)
        stub.activate()
        return client

    configure = staticmethod(lambda stub: None)


def test_endpoint_is_looked_up_once_with_the_ats_type():
    fake = StubbedSession()
    fake.stubs["iot"].add_response("describe_endpoint", {"endpointAddress": ENDPOINT},
                                   {"endpointType": "iot:Data-ATS"})
    fake.stubs["iot"].activate()
    payloads = [{"id": str(i), "seq": i, "action": "stop"} for i in range(3)]

    def configure(stub):
        for payload in payloads:
            stub.add_response("publish", {}, {
                "topic": "robot/sts-pi/cmd", "qos": 1,
                "payload": json.dumps(payload).encode(), "contentType": "application/json"})

    fake.configure = configure
    publisher = IotDataPublisher("", session_factory=lambda: fake)
    for payload in payloads:
        publisher.publish("robot/sts-pi/cmd", payload)
    fake.stubs["iot"].assert_no_pending_responses()
    fake.stubs["iot-data"].assert_no_pending_responses()
    assert fake.made == [("iot", None), ("iot-data", f"https://{ENDPOINT}")]


def test_configured_endpoint_skips_the_lookup():
    fake = StubbedSession()
    fake.stubs["iot"].activate()  # no responses queued: any call would fail
    fake.configure = lambda stub: stub.add_response(
        "get_retained_message", {"topic": "robot/sts-pi/status",
                                 "payload": b'{"online": true}', "qos": 1,
                                 "lastModifiedTime": 1})
    publisher = IotDataPublisher(f"https://{ENDPOINT}/", session_factory=lambda: fake)
    assert publisher.status("sts-pi") == {"online": True}
    assert fake.made == [("iot-data", f"https://{ENDPOINT}")]


def test_never_reported_and_errors():
    fake = StubbedSession()
    fake.stubs["iot"].activate()

    def configure(stub):
        stub.add_client_error("get_retained_message", "ResourceNotFoundException")
        stub.add_client_error("publish", "ThrottlingException")

    fake.configure = configure
    publisher = IotDataPublisher(ENDPOINT, session_factory=lambda: fake)
    assert publisher.status("sts-pi") is None
    with pytest.raises(PublishFailed):
        publisher.publish("robot/sts-pi/cmd", {"action": "stop"})


def test_choice_follows_mqtt_url():
    assert isinstance(from_config(cloud_config.load({"IOT_DATA_ENDPOINT": ENDPOINT})),
                      IotDataPublisher)
