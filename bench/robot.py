"""Robot command latency and link-loss stop time. Prints one JSON object.

1. Through the real local stack (``python -m tools.stack --only broker,api,robot``: HTTP
   gateway, Lambda handler, embedded amqtt broker, the simulated agent as a child process):
   300 ``POST /robot/{name}/cmd`` on one keep-alive connection, each timed from just before the
   request is sent to the motor pin change. The agent stamps the change (``t_ms`` on its
   telemetry, wall clock, whole milliseconds); ``observed_ms`` is when the telemetry reached
   this process, an upper bound.
2. Broker loss: the agent (in this process, mock pins read directly) drives with a 1000 ms
   command, the broker process is SIGKILLed, and the time until every motor pin is 0 is taken.

Targets: p50 <= 15 ms, p99 <= 50 ms, stop <= 1000 ms.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time

from testing.mqtt_brokers import BrokerProcess
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


def main() -> None:
    result = {"bench": "robot", "commands": COMMANDS,
              "path": "HTTP POST -> local gateway -> Lambda handler -> amqtt broker -> "
                      "agent (child process) -> mock GPIO pins"}
    result.update(command_latency())
    result.update(link_loss())
    result["targets"] = {"p50_ms": 15, "p99_ms": 50, "stop_ms": 1000}
    result["met"] = (result["latency_ms"]["p50"] <= 15 and result["latency_ms"]["p99"] <= 50
                     and result["link_loss_stop_ms"]["max"] <= 1000)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
