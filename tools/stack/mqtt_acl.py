"""Who may do what on the local stack's MQTT broker: the one source of its users and rules.

The rules mirror the IoT policy of ``cloud/template.yaml``, so the local broker is no more open
than IoT Core:

- each robot (user = robot name = client id) subscribes to and receives its own command topics
  (``robot/{name}/cmd``, legacy ``{name}/action``), publishes its own status (retained) and
  telemetry, and nothing else;
- ``cloud``, the robot API's command publisher, publishes ``robot/{name}/cmd`` for the known
  robots and reads their statuses (IoT: ``iot:Publish`` + ``iot:GetRetainedMessage``);
- ``observer`` (the stack's readiness check, tests, a person with ``mosquitto_sub``) reads
  statuses and telemetry and publishes nothing.

Nobody may publish to the legacy ``{name}/action`` topic, as in AWS, so no retained legacy
command can wait there for the next agent start. The same rules are rendered for the embedded
amqtt broker (:mod:`tools.stack.embedded_broker`) and for Mosquitto (:func:`mosquitto_files`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from contracts.topics import STATUS_FILTER, TELEMETRY_FILTER, Topics
from tools.stack.private import write_private

PUBLISHER = "cloud"
OBSERVER = "observer"
SERVICE_USERS = (PUBLISHER, OBSERVER)


@dataclass(frozen=True)
class Rules:
    """What one user may do; topic patterns use MQTT's ``+`` and ``#``."""

    subscribe: tuple[str, ...] = ()  # filters it may subscribe with (or narrower ones)
    receive: tuple[str, ...] = ()  # topics delivered to it
    publish: tuple[str, ...] = ()
    retain: tuple[str, ...] = ()  # topics it may leave a retained message on
    client_id: str | None = None  # the one client id it may use (None: any not pinned)


def robot_rules(name: str) -> Rules:
    topics = Topics.for_robot(name)
    own_cmd = (topics.cmd, topics.legacy)
    return Rules(subscribe=own_cmd, receive=own_cmd, publish=(topics.status, topics.telemetry),
                 retain=(topics.status,), client_id=name)


def acl(robot_names: Iterable[str]) -> dict[str, Rules]:
    """The rules of every user, for these robots.

    :raises ValueError: a robot name that is a service user or not a single topic level.
    """
    names = list(robot_names)
    for name in names:
        if name in SERVICE_USERS or not name or any(c in name for c in "/+#\0"):
            raise ValueError(f"ROBOT_NAMES: {name!r} cannot be a robot's MQTT user "
                             f"(reserved: {', '.join(SERVICE_USERS)}; no / + #)")
    rules = {name: robot_rules(name) for name in names}
    topics = [Topics.for_robot(n) for n in names]
    statuses = tuple(t.status for t in topics)
    rules[PUBLISHER] = Rules(subscribe=(STATUS_FILTER,), receive=statuses,
                             publish=tuple(t.cmd for t in topics))
    rules[OBSERVER] = Rules(subscribe=(STATUS_FILTER, TELEMETRY_FILTER),
                            receive=statuses + tuple(t.telemetry for t in topics))
    return rules


def topic_matches(topic: str, pattern: str) -> bool:
    """Whether ``topic`` (no wildcards) is matched by the filter ``pattern``."""
    if topic.startswith("$") and pattern[:1] in ("+", "#"):
        return False
    levels, wanted = topic.split("/"), pattern.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(levels) or level not in ("+", levels[index]):
            return False
    return len(levels) == len(wanted)


def filter_within(requested: str, allowed: str) -> bool:
    """Whether every topic the filter ``requested`` matches is also matched by ``allowed``."""
    asked, granted = requested.split("/"), allowed.split("/")
    for index, level in enumerate(granted):
        if level == "#":
            return True
        if index >= len(asked):
            return False
        if level != "+" and asked[index] != level:
            return False
        if level == "+" and asked[index] == "#":
            return False
    return len(asked) == len(granted)


def may(rules: Rules | None, action: str, topic: str) -> bool:
    """Whether ``rules`` allow ``action`` on ``topic``.

    :param action: ``subscribe`` (``topic`` is then a filter), ``receive``, ``publish`` or
        ``retain``.
    """
    if rules is None:
        return False
    if action == "subscribe":
        return any(filter_within(topic, allowed) for allowed in rules.subscribe)
    return any(topic_matches(topic, pattern) for pattern in getattr(rules, action))


def new_passwords(robot_names: Iterable[str], kept: Mapping[str, str] | None = None
                  ) -> dict[str, str]:
    """A password per user: kept ones stay (devices set up once keep working), new ones random."""
    kept = kept or {}
    return {user: kept.get(user) or secrets.token_urlsafe(18)
            for user in [*SERVICE_USERS, *robot_names]}


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    """A Mosquitto 2 password-file hash (``$7$``: PBKDF2-SHA512, 101 rounds as
    ``mosquitto_passwd`` writes)."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    return f"$7$101${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _mosquitto_acl(rules: Mapping[str, Rules]) -> str:
    lines = ["# Written by the local stack from tools/stack/mqtt_acl.py; edits are overwritten."]
    for user, rule in rules.items():
        lines.append(f"\nuser {user}")
        readable = dict.fromkeys((*rule.subscribe, *rule.receive))
        for topic in readable:
            lines.append(f"topic read {topic}")
        for topic in rule.publish:
            lines.append(f"topic write {topic}")
    return "\n".join(lines) + "\n"


def mosquitto_conf(port: int, host: str, passwd: Path, acl_file: Path,
                   run_as: str | None = None) -> str:
    """``mosquitto.conf`` for the stack's users and rules.

    - ``use_username_as_clientid``: a connection's client id is its user name, so no account
      can take a robot's id and knock it off (IoT Core pins a thing's client id the same way);
      a second connection as the same user replaces the first, as a duplicate id does;
    - ``set_tcp_nodelay``: no Nagle delay on a motor event (40 ms with it on);
    - packet and queue limits as the embedded broker's (IoT Core's 128 KB message limit);
    - ``user``: started as root, Mosquitto drops to ``mosquitto``, who cannot read the 0600
      files the stack wrote; it runs as their owner instead.
    """
    lines = [f"listener {port} {host}", "use_username_as_clientid true",
             "allow_anonymous false", f"password_file {passwd}", f"acl_file {acl_file}",
             "persistence false", "set_tcp_nodelay true", "max_packet_size 131072",
             "max_inflight_messages 20", "max_queued_messages 1000"]
    if run_as:
        lines.append(f"user {run_as}")
    return "\n".join(lines) + "\n"


def file_owner() -> str | None:
    """The account the stack writes its files as (``None`` where there are no such names)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return None


def mosquitto_files(directory: Path, rules: Mapping[str, Rules], passwords: Mapping[str, str],
                    port: int, host: str = "127.0.0.1") -> Path:
    """Write ``mosquitto.conf``, ``passwd`` and ``acl`` enforcing the same rules; returns the conf.

    Mosquitto's ACL file cannot refuse a retain flag; the agent ignores retained commands, and
    only the publisher may publish commands at all.
    """
    directory.mkdir(parents=True, exist_ok=True)
    passwd, acl_file, conf = directory / "passwd", directory / "acl", directory / "mosquitto.conf"
    write_private(passwd, "".join(f"{user}:{mosquitto_hash(passwords[user])}\n"
                                   for user in rules))
    write_private(acl_file, _mosquitto_acl(rules))
    write_private(conf, mosquitto_conf(port, host, passwd, acl_file, file_owner()))
    return conf
