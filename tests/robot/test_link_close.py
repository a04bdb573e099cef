"""Hanging up an MQTT client never raises, whichever of the close and the network thread ends
first.

paho's ``loop_stop()`` reads its network thread twice, and the thread clears it as it ends
(eclipse-paho/paho.mqtt.python#872): a thread ending between the two reads made ``loop_stop()``
raise ``AttributeError``. A browser test's teardown met it on a loaded machine; the agent's
link, ``doctor`` and the stack close their clients the same way.
"""

from __future__ import annotations

import threading
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pytest
from robot_agent.mqtt_link import hang_up


class ThreadEndsFirst(mqtt.Client):
    """A client whose network thread always wins that race: asked to end, it has ended
    (cleared its ``_thread``) before ``loop_stop()`` reads it again."""

    @property
    def _thread_terminate(self) -> bool:
        return self.__dict__.get("_terminate", False)

    @_thread_terminate.setter
    def _thread_terminate(self, value: bool) -> None:
        self.__dict__["_terminate"] = value
        thread = self.__dict__.get("_thread")
        if value and thread is not None and thread is not threading.current_thread():
            thread.join(10)


def connected_client(url: str) -> ThreadEndsFirst:
    parts = urlparse(url)
    client = ThreadEndsFirst(mqtt.CallbackAPIVersion.VERSION2)
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    up = threading.Event()
    client.on_connect = lambda *args: up.set()
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    assert up.wait(10), "the broker did not accept the client"
    return client


@pytest.mark.parametrize("broker", ["amqtt"], indirect=True)
def test_hanging_up_never_raises_when_the_network_thread_ends_first(broker):
    plain = connected_client(broker.url)
    plain.disconnect()
    with pytest.raises(AttributeError):  # paho's own close meets the race
        plain.loop_stop()
    client = connected_client(broker.url)
    hang_up(client)
    assert client._thread is None and not client.is_connected()
