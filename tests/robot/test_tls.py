"""Mutual TLS (as AWS IoT Core does it) against a local Mosquitto with a test CA."""

from __future__ import annotations

import datetime
import getpass
import shutil
import socket
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from robot_agent.config import parse

from tests.robot.harness import BrokerProcess, RunningAgent, command, free_port, wait_until

pytestmark = [pytest.mark.mosquitto,
              pytest.mark.skipif(shutil.which("mosquitto") is None,
                                 reason="mosquitto is not installed (CI installs it)")]


def _cert(subject: str, key, issuer_name, issuer_key, *, ca=False, server=False):
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost")]), critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path, cert=None, key=None):
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
    return str(path)


@pytest.fixture
def pki(tmp_path):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root CA")])
    ca = _cert("Test Root CA", ca_key, ca_name, ca_key, ca=True)
    files = {"ca": _write(tmp_path / "ca.pem", cert=ca)}
    for role in ("server", "robot"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert("localhost" if role == "server" else "testbot", key, ca_name, ca_key,
                     server=role == "server")
        files[f"{role}_cert"] = _write(tmp_path / f"{role}.crt", cert=cert)
        files[f"{role}_key"] = _write(tmp_path / f"{role}.key", key=key)
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    files["stranger_cert"] = _write(tmp_path / "stranger.crt", cert=_cert(
        "testbot", stranger_key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]),
        stranger_key))
    files["stranger_key"] = _write(tmp_path / "stranger.key", key=stranger_key)
    return files


@pytest.fixture
def tls_broker(tmp_path, pki):
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    # Started as root, mosquitto would switch to its own user, which cannot read tmp_path.
    conf.write_text(f"user {getpass.getuser()}\nper_listener_settings true\n"
                    f"listener {port} 127.0.0.1\n"
                    f"cafile {pki['ca']}\ncertfile {pki['server_cert']}\n"
                    f"keyfile {pki['server_key']}\nrequire_certificate true\n"
                    "allow_anonymous true\n")
    broker = BrokerProcess("mosquitto", port=port, conf=conf).start()
    yield broker
    broker.stop()


def _config(port, pki, cert="robot_cert", key="robot_key", alpn=False):
    return parse({"name": "testbot", "mqtt": {
        "url": f"mqtts://localhost:{port}", "cert": pki[cert], "key": pki[key],
        "ca": pki["ca"], "alpn": alpn}}, "tls.toml")


@pytest.mark.parametrize("alpn", [False, True])
def test_mutual_tls_connects_and_drives(tls_broker, pki, alpn):
    with RunningAgent(_config(tls_broker.port, pki, alpn=alpn)) as bot:
        assert bot.link.connected
        # Nagle off under TLS too: telemetry leaves at once, not after a delayed ACK.
        sock = bot.link.client.socket()
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        # Commands reach it through the same TLS listener (a second client, same CA).
        sender = RunningAgent(parse({"name": "sender", "mqtt": {
            "url": f"mqtts://localhost:{tls_broker.port}", "cert": pki["robot_cert"],
            "key": pki["robot_key"], "ca": pki["ca"]}}, "sender.toml")).start()
        try:
            sender.link.publish("robot/testbot/cmd", command("left", 0.5, 500), qos=1,
                                wait_s=2)
            wait_until(lambda: bot.pins() == {19: 0.5, 20: 0.0, 21: 0.0, 26: 0.5}, 3)
        finally:
            sender.stop()


def test_a_certificate_from_another_ca_is_refused(tls_broker, pki, caplog):
    bot = RunningAgent(_config(tls_broker.port, pki, "stranger_cert", "stranger_key"))
    # An attempt ends in the handshake (TLS 1.2: paho's connect fails) or, under TLS 1.3, when
    # the broker's alert arrives after CONNECT (the agent logs the link as lost).
    failed = threading.Event()
    bot.link.client.on_connect_fail = lambda client, userdata: failed.set()
    bot.start(wait_connected=False)
    try:
        wait_until(lambda: failed.is_set() or "link lost" in caplog.text, 30,
                   message="no connection attempt ended")
        assert not bot.link.connected and bot.agent.ready is not None
        assert not bot.agent.ready.is_set()
    finally:
        bot.stop()
