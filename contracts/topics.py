"""MQTT topic names (robot name = IoT thing name = MQTT client id = KVS channel name).

- ``robot/{name}/cmd``: drive commands, cloud -> robot (QoS 1)
- ``{name}/action``: the original web app's commands, robot side only (QoS 1)
- ``robot/{name}/status``: retained state, robot -> cloud; Last Will ``{"online": false}``
- ``robot/{name}/telemetry``: events (motor changes, refused commands), robot -> cloud

The IoT policies in ``cloud/template.yaml`` spell the same names with the thing name as a
policy variable; ``tests/cloud/test_template_policy.py`` holds them to these.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUS_FILTER = "robot/+/status"
TELEMETRY_FILTER = "robot/+/telemetry"


@dataclass(frozen=True)
class Topics:
    """One robot's topics."""

    cmd: str
    legacy: str
    status: str
    telemetry: str

    @classmethod
    def for_robot(cls, name: str) -> Topics:
        return cls(cmd=f"robot/{name}/cmd", legacy=f"{name}/action",
                   status=f"robot/{name}/status", telemetry=f"robot/{name}/telemetry")
