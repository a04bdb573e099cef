"""Robot command latency and link-loss stop time. Prints one JSON object.

1. Through the real local stack (``python -m tools.stack --only broker,api,robot``: HTTP
   gateway, Lambda handler, embedded amqtt broker, the simulated agent as a child process):
   300 ``POST /robot/{name}/cmd`` on one keep-alive connection, each timed from just before the
   request is sent to the motor pin change. The agent stamps the change (``t_ms`` on its
   telemetry, wall clock, whole milliseconds); ``observed_ms`` is when the telemetry reached
   this process, an upper bound.
2. Broker loss: the agent (in this process, mock pins read directly) drives with a 1000 ms
   command, the broker process is SIGKILLed, and the time until every motor pin is 0 is taken.
3. Through Mosquitto, the production broker, with and without TCP_NODELAY in one run: the
   cloud's command publisher sends 200 commands (QoS 1) to the agent (in this process, on mock
   pins that note the moment they change); ``command_to_pin_ms`` runs from just before the
   publish to the first pin change, ``pin_to_observer_ms`` from that change to the motor
   telemetry reaching an observer (``robot/{name}/telemetry``). Variants: Nagle off on the
   agent's socket and ``set_tcp_nodelay true`` in Mosquitto (as shipped), either alone, and
   neither (as before).

Targets: p50 <= 15 ms, p99 <= 50 ms, stop <= 1000 ms.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time

from gpiozero.pins.mock import MockFactory, MockPWMPin

from cloud.robot.publisher import MqttPublisher
from testing.mqtt_brokers import BrokerProcess, mosquitto_path
from testing.robot_harness import Observer, RunningAgent, agent_config, command
from testing.stack_process import StackProcess
from testing.waiting import wait_until

COMMANDS = 300
LOSS_TRIALS = 10
NAME = "sts-pi"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": round(max(values), 2), "mean": round(statistics.fmean(values), 2)}


def command_latency() -> dict:
    with StackProcess(only="broker,api,robot") as stack:
        arrivals: dict[str, tuple[float, dict]] = {}
        got = threading.Condition()
        observer = Observer(stack.mqtt_url_as("observer"), topics=(f"robot/{NAME}/telemetry",))

        def on_message(client, userdata, message) -> None:
            event = json.loads(message.payload)
            if event.get("event") == "motors" and event.get("cause") == "command":
                with got:
                    arrivals[event["id"]] = (time.time(), event)
                    got.notify_all()

        observer.client.on_message = on_message
        connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
        headers = {"Authorization": f"Bearer {stack.token}", "Content-Type": "application/json"}
        pin_ms: list[float] = []
        observed_ms: list[float] = []
        for i in range(COMMANDS + 5):  # the first few warm up connections and caches
            body = json.dumps({"action": "forward" if i % 2 else "backward",
                               "speed": 0.2 + (i % 7) / 10, "duration_ms": 1000})
            sent = time.time()
            connection.request("POST", f"/robot/{NAME}/cmd", body, headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            if response.status != 202:
                raise RuntimeError(f"POST answered {response.status}: {answer}")
            with got:
                if not got.wait_for(lambda a=answer: a["id"] in arrivals, timeout=5):
                    raise RuntimeError(f"no motor change for command {answer['id']}")
                arrived, event = arrivals[answer["id"]]
            if i >= 5:
                pin_ms.append(max(0.0, event["t_ms"] + 0.5 - sent * 1000))  # mid-millisecond
                observed_ms.append((arrived - sent) * 1000)
        connection.request("POST", f"/robot/{NAME}/cmd", json.dumps({"action": "stop"}),
                           headers)
        connection.getresponse().read()
        connection.close()
        observer.close()
    return {"latency_ms": summary(pin_ms), "observed_ms": summary(observed_ms)}


def link_loss() -> dict:
    broker = BrokerProcess("amqtt").start()
    stops: list[float] = []
    before_deadman = 0
    bot = RunningAgent(agent_config(broker.url, NAME)).start()
    try:
        for _ in range(LOSS_TRIALS):
            wait_until(lambda: bot.link.connected, 15)
            sender = Observer(broker.url, topics=(f"robot/{NAME}/status",))
            sender.publish(f"robot/{NAME}/cmd", command("forward", 0.8, 1000))
            wait_until(bot.moving, 3, step=0.0005)
            moving = killed = time.monotonic()
            broker.kill()  # SIGKILL; returns once the process is gone
            wait_until(lambda: not bot.moving(), 2, step=0.0005)
            stopped = time.monotonic()
            stops.append((stopped - killed) * 1000)
            # The command ran for 1000 ms: a stop sooner than that was the link loss, not the
            # deadman.
            before_deadman += (stopped - moving) < 0.9
            broker.start()
            sender.close()
    finally:
        bot.stop()
        broker.stop()
    return {"link_loss_stop_ms": summary(stops), "link_loss_trials": LOSS_TRIALS,
            "link_loss_stops_before_deadman": before_deadman}


MOSQUITTO_COMMANDS = 200
# (name, Nagle off on the agent's socket, set_tcp_nodelay in mosquitto.conf)
NODELAY_VARIANTS = (("agent_and_broker", True, True), ("agent_only", True, False),
                    ("broker_only", False, True), ("neither", False, False))


class TimedPin(MockPWMPin):
    """A mock PWM pin that notes when it changes (``perf_counter``), in one shared list."""

    changes: list[float] = []

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            TimedPin.changes.append(time.perf_counter())
        return changed


def through_mosquitto(agent_nodelay: bool, broker_nodelay: bool) -> dict:
    broker = BrokerProcess("mosquitto", extra_config="set_tcp_nodelay true" if broker_nodelay
                           else "").start()
    arrived: dict[str, float] = {}
    got = threading.Condition()

    def on_message(client, userdata, message) -> None:
        event = json.loads(message.payload)
        if event.get("event") == "motors" and event.get("cause") == "command":
            with got:
                arrived[event["id"]] = time.perf_counter()
                got.notify_all()

    bot = RunningAgent(agent_config(broker.url, NAME), factory=MockFactory(pin_class=TimedPin))
    bot.link.nodelay = agent_nodelay  # type: ignore[attr-defined]
    bot.start()
    observer = Observer(broker.url, topics=(f"robot/{NAME}/telemetry",))
    observer.client.on_message = on_message
    publisher = MqttPublisher(broker.url, client_id="cloud")
    to_pin: list[float] = []
    to_observer: list[float] = []
    try:
        for i in range(MOSQUITTO_COMMANDS + 5):
            body = command("forward" if i % 2 else "backward", 0.2 + (i % 7) / 10, 1000)
            TimedPin.changes = []
            sent = time.perf_counter()
            publisher.publish(f"robot/{NAME}/cmd", body)
            with got:
                if not got.wait_for(lambda b=body: b["id"] in arrived, timeout=5):
                    raise RuntimeError(f"no motor telemetry for command {body['id']}")
            pin = min(t for t in TimedPin.changes if t >= sent)
            if i >= 5:  # the first few warm up connections and caches
                to_pin.append((pin - sent) * 1000)
                to_observer.append((arrived[body["id"]] - pin) * 1000)
        publisher.publish(f"robot/{NAME}/cmd", command("stop"))
    finally:
        publisher.close()
        observer.close()
        bot.stop()
        broker.close()
    return {"command_to_pin_ms": summary(to_pin), "pin_to_observer_ms": summary(to_observer)}


def mosquitto_latency() -> dict:
    if mosquitto_path() is None:
        return {"mosquitto": "not installed (apt-get install mosquitto)"}
    return {"mosquitto": {"commands": MOSQUITTO_COMMANDS, **{
        name: {"agent_tcp_nodelay": agent, "broker_set_tcp_nodelay": broker,
               **through_mosquitto(agent, broker)}
        for name, agent, broker in NODELAY_VARIANTS}}}


def main() -> None:
    result = {"bench": "robot", "commands": COMMANDS,
              "path": "HTTP POST -> local gateway -> Lambda handler -> amqtt broker -> "
                      "agent (child process) -> mock GPIO pins"}
    result.update(command_latency())
    result.update(link_loss())
    result.update(mosquitto_latency())
    result["targets"] = {"p50_ms": 15, "p99_ms": 50, "stop_ms": 1000}
    result["met"] = (result["latency_ms"]["p50"] <= 15 and result["latency_ms"]["p99"] <= 50
                     and result["link_loss_stop_ms"]["max"] <= 1000)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
