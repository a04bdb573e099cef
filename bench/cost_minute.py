"""The bill and the scripted minute. Prints one JSON object.

* ``monthly_usd``: ``python -m tools.deploy cost`` for 1 PyPortal + 1 robot, 1,000 + 10 and
  1,000 + 100 (robots driven an hour a day, no free tier), each line, and the limits it names;
* ``minute``: a scripted minute on the real local stack (PyPortal refreshes, a page signing in,
  4 joystick holds over the video connection's data channel), each line as the stack saw it and
  as the cost model counts it (``testing/scripted_minute.py``);
* ``robot_mqtt_messages_per_s``: what the robot published while driven at 20 analog commands
  a second: over the whole driving span (the first change and each stop go at once) and inside
  the holds (the coalesced pace);
* ``targets``: 1+1 <= $1.00, 1,000+10 <= $10.00, every minute line within 10 % (or one).
"""

from __future__ import annotations

import json

from testing.scripted_minute import Script, run
from tools.deploy import cost


def monthly() -> dict:
    found = {}
    for name, use in (("1+1", cost.Usage()), ("1000+10", cost.Usage(pyportals=1000, robots=10)),
                      ("1000+100", cost.Usage(pyportals=1000, robots=100))):
        lines = cost.estimate(use)
        found[name] = {"total": round(sum(line.usd for line in lines), 2),
                       "lines": {line.item: round(line.usd, 2) for line in lines},
                       "limits": cost.limits(use)}
    return found


def main() -> dict:
    bill = monthly()
    minute = run(Script())
    within = all(abs(v["observed"] - v["model"]) <= max(0.1 * v["model"], 1.0)
                 for v in minute["lines"].values())
    return {
        "monthly_usd": bill,
        "prices": cost.PRICES_DATE,
        "minute": {"script": minute["script"], "lines": minute["lines"]},
        "robot_mqtt_messages_per_s": {
            "commands_per_s": minute["commands_per_s_sent"],
            "while_driven": minute["robot_mqtt_messages_per_s_while_driven"],
            "inside_holds": minute["robot_mqtt_messages_per_s_steady"]},
        "targets": {"1+1_max_usd": 1.00, "1+1_ok": bill["1+1"]["total"] <= 1.00,
                    "1000+10_max_usd": 10.00, "1000+10_ok": bill["1000+10"]["total"] <= 10.00,
                    "minute_lines_within_10_percent": within},
    }


if __name__ == "__main__":
    print(json.dumps(main()))
