"""The Mosquitto the stack configures sends each small message at once: ``set_tcp_nodelay true``
is in the files it writes, Mosquitto takes it, and the broker's end of a client's connection
has Nagle's algorithm off (with it on, a motor command waited 43 ms for a delayed ACK; see
bench/robot.py and the agent README's MQTT contract)."""

from __future__ import annotations

import ctypes
import errno
import os
import socket
from pathlib import Path

import pytest

from testing.mqtt_brokers import BrokerProcess
from testing.mqtt_clients import Client, MosquittoBroker
from testing.system import needs
from tools.stack import mqtt_acl

pytestmark = needs("mosquitto")

PASSWORDS = mqtt_acl.new_passwords(["a", "b"])  # the robots MosquittoBroker serves
PIDFD_GETFD = 438  # the same number on every Linux architecture (a syscall newer than 5.1)


def test_the_written_config_asks_for_it_and_mosquitto_takes_it(tmp_path):
    conf = mqtt_acl.mosquitto_files(tmp_path, mqtt_acl.acl(["a", "b"]), PASSWORDS, 1883)
    assert "set_tcp_nodelay true" in conf.read_text().splitlines()
    broker = MosquittoBroker(PASSWORDS).start()  # the written files, on a free port
    try:
        assert not Client(broker.port, "a", PASSWORDS["a"], "a").refused
    finally:
        broker.stop()
    # taking it means something: a setting Mosquitto does not know stops it
    misspelt = BrokerProcess("mosquitto", extra_config="set_tcp_nodelay_typo true\n")
    try:
        with pytest.raises(RuntimeError, match="exited"):
            misspelt.start()
    finally:
        misspelt.close()


def broker_side_nodelay(broker: BrokerProcess, client: Client) -> int:
    """``TCP_NODELAY`` on Mosquitto's end of ``client``'s connection, read from a copy of that
    socket taken from the broker process (``pidfd_getfd``, Linux 5.6)."""
    assert broker.process is not None
    pid, client_port = broker.process.pid, client.client.socket().getsockname()[1]
    inode = next(fields[9] for fields in (line.split() for line in
                                          Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:])
                 if int(fields[1].split(":")[1], 16) == broker.port
                 and int(fields[2].split(":")[1], 16) == client_port)
    fd = next(int(entry) for entry in os.listdir(f"/proc/{pid}/fd")
              if os.readlink(f"/proc/{pid}/fd/{entry}") == f"socket:[{inode}]")
    pidfd = os.pidfd_open(pid)
    try:
        copy = ctypes.CDLL(None, use_errno=True).syscall(PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            code = ctypes.get_errno()
            if code in (errno.ENOSYS, errno.EPERM):
                pytest.skip(f"this kernel does not lend another process's socket "
                            f"(pidfd_getfd: {os.strerror(code)})")
            raise OSError(code, os.strerror(code))
    finally:
        os.close(pidfd)
    with socket.socket(fileno=copy) as borrowed:
        return borrowed.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_nagle_is_off_on_the_brokers_end_of_a_connection():
    broker = MosquittoBroker(PASSWORDS).start()
    without = BrokerProcess("mosquitto", extra_config="\n".join(
        line for line in broker.mosquitto.extra_config.splitlines()
        if not line.startswith("set_tcp_nodelay")) + "\n")
    clients: list[Client] = []
    try:
        without.start()
        for running in (broker.mosquitto, without):
            clients.append(Client(running.port, "a", PASSWORDS["a"], "a"))
        assert broker_side_nodelay(broker.mosquitto, clients[0]) == 1
        assert broker_side_nodelay(without, clients[1]) == 0  # the check tells them apart
    finally:
        for client in clients:
            client.close()
        without.close()
        broker.stop()
