"""The local stack as a user meets it: a real process, real HTTP, a real MQTT broker."""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from robot_agent.mqtt_link import hang_up

from testing.echo_routes import ALL_BYTES
from testing.mqtt_brokers import BrokerProcess
from testing.mqtt_clients import Client
from testing.ports import free_port, port_is_free
from testing.stack_process import ROOT, StackProcess
from testing.system import needs
from testing.waiting import wait_until
from tools.circuitpy.__main__ import main as circuitpy_main
from tools.stack import lan
from tools.stack.runner import StackError, addresses, build_context, parse_args


@pytest.fixture(scope="module")
def stack():
    with StackProcess(only="broker,api", args=["--extra-routes", "testing.echo_routes:ROUTES"]
                      ) as running:
        yield running


def request(stack, method, path, body=None, headers=()):
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    conn.putrequest(method, path, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def test_handler_sees_the_api_gateway_event(stack):
    response, data = request(
        stack, "GET", "/echo/a%20b?x=1&x=2&y=hello%20world&empty=",
        headers=[("X-Custom", "first"), ("X-Custom", "second"), ("User-Agent", "probe/1")])
    assert response.status == 200
    event = json.loads(data)["event"]
    assert event["httpMethod"] == "GET"
    assert event["resource"] == "/echo/{thing}"
    assert event["path"] == "/echo/a b"
    assert event["pathParameters"] == {"thing": "a b"}
    assert event["queryStringParameters"] == {"x": "2", "y": "hello world", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["hello world"],
                                                        "empty": [""]}
    assert event["headers"]["X-Custom"] == "second"
    assert event["multiValueHeaders"]["X-Custom"] == ["first", "second"]
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    ctx = event["requestContext"]
    assert ctx["resourcePath"] == "/echo/{thing}" and ctx["httpMethod"] == "GET"
    assert ctx["stage"] == "local" and ctx["path"] == "/local/echo/a b"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"] == "probe/1"
    assert len(ctx["requestId"]) == 36
    assert json.loads(data)["context"]["aws_request_id"] == ctx["requestId"]
    assert "authorizer" not in ctx


def test_no_query_and_no_headers_are_null(stack):
    _, data = request(stack, "GET", "/echo/x")
    event = json.loads(data)["event"]
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_json_body_arrives_as_text(stack):
    body = json.dumps({"action": "forward", "speed": 0.5}).encode()
    _, data = request(stack, "POST", "/echo/j", body,
                      headers=[("Content-Type", "application/json")])
    event = json.loads(data)["event"]
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"action": "forward", "speed": 0.5}


def test_binary_body_arrives_base64(stack):
    _, data = request(stack, "POST", "/echo/b", ALL_BYTES,
                      headers=[("Content-Type", "application/octet-stream")])
    event = json.loads(data)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == ALL_BYTES


def test_non_utf8_body_arrives_base64_whatever_its_type(stack):
    _, data = request(stack, "POST", "/echo/b", b"\xff\xfe\x00",
                      headers=[("Content-Type", "text/plain")])
    event = json.loads(data)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe\x00"


def test_binary_response_is_byte_exact_with_merged_headers(stack):
    response, data = request(stack, "GET", "/binary")
    assert response.status == 201
    assert data == ALL_BYTES
    assert response.getheader("Content-Type") == "application/octet-stream"
    assert response.getheader("X-Single") == "one"
    assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    # a name in both headers and multiValueHeaders takes the multi-value list
    assert response.headers.get_all("X-Both") == ["m1", "m2"]


def test_a_function_takes_one_event_at_a_time_like_a_lambda_container(stack):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: request(stack, "GET", "/overlap"), range(8)))
    assert all(response.status == 200 for response, _ in answers)
    assert max(json.loads(body)["most_at_once"] for _, body in answers) == 1


def test_one_slow_call_does_not_hold_up_the_same_functions_other_calls(stack):
    """Lambda scales out: a busy container means a new one, not a queue (#12 item 4)."""
    from concurrent.futures import ThreadPoolExecutor

    invoked = stack.health()["components"]["api"]["requests"]
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(request, stack, "GET", "/nap?gate=slow-call")
        wait_until(lambda: stack.health()["components"]["api"]["requests"] > invoked,
                   timeout=10, step=0.02)  # the slow call is inside its container now
        quick = [request(stack, "GET", "/nap?s=0") for _ in range(3)]
        # All three answered while the slow call of the same function still runs.
        assert not slow.done() and all(response.status == 200 for response, _ in quick)
        assert request(stack, "GET", "/wake?gate=slow-call")[0].status == 200
        response, body = slow.result()
        assert response.status == 200 and json.loads(body) == {"woken": True}


def test_unknown_route_is_404_json(stack):
    response, data = request(stack, "GET", "/no/such/route")
    assert response.status == 404
    assert response.getheader("Content-Type").startswith("application/json")
    assert json.loads(data)["error"]["code"] == "NOT_FOUND"


def test_wrong_method_is_405_with_allow(stack):
    response, data = request(stack, "DELETE", "/binary")
    assert response.status == 405
    assert json.loads(data)["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.getheader("Allow").split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_body_over_6_mb_is_413(stack):
    response, data = request(stack, "POST", "/echo/big", b"x" * (6 * 1024 * 1024 + 1),
                             headers=[("Content-Type", "text/plain")])
    assert response.status == 413
    assert json.loads(data)["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_body_of_exactly_6_mb_passes(stack):
    response, _ = request(stack, "POST", "/echo/big", b"x" * (6 * 1024 * 1024 - 64),
                          headers=[("Content-Type", "text/plain")])
    assert response.status == 200


def test_head_has_get_headers_and_no_body(stack):
    get, get_body = request(stack, "GET", "/binary")
    head, head_body = request(stack, "HEAD", "/binary")
    assert head.status == get.status == 201
    assert head_body == b""
    assert head.getheader("Content-Length") == str(len(get_body))
    assert head.getheader("Content-Type") == get.getheader("Content-Type")


def test_options_is_a_cors_preflight_for_existing_routes_only(stack):
    response, data = request(stack, "OPTIONS", "/user/r1",
                             headers=[("Origin", stack.base_url),
                                      ("Access-Control-Request-Method", "POST")])
    assert response.status == 204 and data == b""
    assert response.getheader("Access-Control-Allow-Origin") == stack.base_url
    assert set(response.getheader("Access-Control-Allow-Methods").split(",")) == {"POST",
                                                                                 "OPTIONS"}
    assert "Authorization" in response.getheader("Access-Control-Allow-Headers")
    missing, _ = request(stack, "OPTIONS", "/no/such/route")
    assert missing.status == 404


def test_api_key_routes_need_the_key(stack):
    assert request(stack, "GET", "/keyed")[0].status == 403
    assert request(stack, "GET", "/keyed", headers=[("x-api-key", "wrong")])[0].status == 403
    response, data = request(stack, "GET", "/keyed", headers=[("x-api-key", stack.api_key)])
    assert response.status == 200
    assert json.loads(data)["event"]["requestContext"]["identity"]["apiKey"] == stack.api_key


def test_user_routes_need_the_token_and_get_cognito_style_claims(stack):
    response, data = request(stack, "POST", "/user/r1", b"{}")
    assert response.status == 401
    assert json.loads(data)["error"]["code"] == "UNAUTHORIZED"
    bad = request(stack, "POST", "/user/r1", b"{}", headers=[("Authorization", "Bearer nope")])
    assert bad[0].status == 401
    response, data = request(stack, "POST", "/user/r1", b"{}",
                             headers=[("Authorization", f"Bearer {stack.token}")])
    assert response.status == 200
    claims = json.loads(data)["event"]["requestContext"]["authorizer"]["claims"]
    assert claims["cognito:username"] == "local"


def test_crashing_or_malformed_handler_is_502_json(stack):
    for path in ("/crash", "/malformed"):
        response, data = request(stack, "GET", path)
        assert response.status == 502
        assert json.loads(data)["error"]["code"] == "BAD_GATEWAY"
    assert "RuntimeError: boom" in stack.log()


def test_healthz_lists_the_components(stack):
    health = stack.health()
    assert health["status"] == "ok"
    assert set(health["components"]) == {"broker", "api"}
    assert "GET /mars" in health["components"]["api"]["routes"]


def test_one_log_line_per_request(stack):
    request(stack, "GET", "/echo/logged?token=secret123")
    request(stack, "GET", "/echo/after")
    # Lines are written in order: once the second request's is there, the first's are all in.
    wait_until(lambda: "/echo/after" in stack.log(), message="no log line for /echo/after")
    lines = [line for line in stack.log().splitlines() if "/echo/logged" in line]
    assert len(lines) == 1
    assert " 200 " in lines[0]
    assert "secret123" not in lines[0]  # tokens in query strings are masked


def test_broker_round_trip_with_paho(stack):
    """Signed in as the broker's users (printed at start), messages flow where the rules allow."""
    assert "MQTT users      cloud/" in stack.log()
    robot = Client(stack.mqtt_port, "sts-pi", stack.mqtt_password("sts-pi"), "sts-pi")
    watcher = Client(stack.mqtt_port, "observer", stack.mqtt_password("observer"))
    publisher = Client(stack.mqtt_port, "cloud", stack.mqtt_password("cloud"))
    try:
        assert Client(stack.mqtt_port, None, None).refused  # no anonymous access
        robot.publish("robot/sts-pi/status", b'{"online": true}', retain=True)
        assert watcher.subscribe("robot/+/status")
        assert watcher.next() == ("robot/sts-pi/status", b'{"online": true}', True)
        assert robot.subscribe("robot/sts-pi/cmd")
        publisher.publish("robot/sts-pi/cmd", b"hello")
        assert robot.next() == ("robot/sts-pi/cmd", b"hello", False)
    finally:
        for client in (robot, watcher, publisher):
            client.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_everything_and_frees_the_ports(sig):
    stack = StackProcess(only="broker,api").start()
    assert not port_is_free(stack.port) and not port_is_free(stack.mqtt_port)
    started = time.monotonic()
    stack.process.send_signal(sig)
    code = stack.process.wait(timeout=10)
    elapsed = time.monotonic() - started
    stack.stop()
    assert code == 0, stack.log()
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"
    assert "Stopped." in stack.log()
    assert port_is_free(stack.port) and port_is_free(stack.mqtt_port)


def test_restart_on_the_same_ports_right_after_a_stop(tmp_path):
    first = StackProcess(only="broker,api", data_dir=tmp_path / "a").start()
    # Connections still open at the stop are closed by the server, which leaves them in
    # TIME_WAIT on its port for a minute: that must not count as "in use".
    kept = [http.client.HTTPConnection("127.0.0.1", first.port, timeout=10) for _ in range(3)]
    for conn in kept:
        conn.request("GET", "/healthz")
        conn.getresponse().read()
    idle = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    idle.connect("127.0.0.1", first.mqtt_port)
    first.stop()
    for conn in kept:
        conn.close()
    idle.socket().close()
    second = StackProcess(only="broker,api", data_dir=tmp_path / "b")
    second.port, second.mqtt_port = first.port, first.mqtt_port
    with second:
        assert second.health()["status"] == "ok"


@pytest.mark.parametrize("flag", ["--port", "--mqtt-port"])
def test_port_in_use_is_a_one_line_error(tmp_path, flag):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = {"--port": str(free_port()), "--mqtt-port": str(free_port())}
        ports[flag] = str(busy)
        result = subprocess.run(
            [sys.executable, "-m", "tools.stack", "--only", "broker,api", "--data-dir",
             str(tmp_path), "--port", ports["--port"], "--mqtt-port", ports["--mqtt-port"]],
            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    errors = result.stderr.strip().splitlines()
    assert errors == [f"error: port {busy} on 127.0.0.1 is already in use; "
                      f"choose another with {flag}"]


def test_unknown_component_and_bad_setting_fail_fast(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tools.stack", "--only", "broker,teleporter", "--data-dir",
         str(tmp_path), "--port", str(free_port())],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "unknown component 'teleporter'" in result.stderr
    env = {"MARS_SITE_BASE": "ftp://nowhere", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "tools.stack", "--only", "api", "--data-dir", str(tmp_path),
         "--port", str(free_port())],
        cwd=ROOT, capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: MARS_SITE_BASE='ftp://nowhere' is invalid")


def test_credentials_are_printed_and_kept_across_restarts(tmp_path):
    env = {"MARS_API_KEY": "", "ROBOT_API_TOKEN": ""}
    first = StackProcess(only="api", data_dir=tmp_path, env=env)
    first.api_key = first.token = ""
    with first:
        pass
    keys = json.loads((tmp_path / "local-credentials.json").read_text())
    assert len(keys["MARS_API_KEY"]) >= 20 and keys["MARS_API_KEY"] in first.log()
    assert keys["ROBOT_API_TOKEN"] in first.log()
    assert (tmp_path / "local-credentials.json").stat().st_mode & 0o777 == 0o600
    second = StackProcess(only="api", data_dir=tmp_path, env=env)
    second.api_key = second.token = ""
    with second:
        pass
    assert keys["MARS_API_KEY"] in second.log()


def test_lan_listens_on_this_machines_lan_address_and_prints_the_board_install_command(
        tmp_path, capsys):
    address = lan.lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address for --lan to listen on")
    assert not ipaddress.ip_address(address).is_loopback
    with StackProcess(only="broker,api", args=["--lan"], data_dir=tmp_path / "data") as stack:
        base = f"http://{address}:{stack.port}"
        log = stack.log()
        # Only this machine's own address is contacted.
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            assert json.load(response)["status"] == "ok"
    assert f"Mars API (PyPortal)      {base}/mars?" in log
    assert f"mqtt://{address}:{stack.mqtt_port}" in log
    assert f"WARNING: listening on {address}, beyond this machine" in log
    command = next(line for line in log.splitlines() if "-m tools.circuitpy install" in line)
    argv = shlex.split(command)
    assert argv[1:] == ["-m", "tools.circuitpy", "install", "--api-url", base,
                        "--api-key", stack.api_key, "--ssid", "YOUR WIFI NAME"]
    # The installer takes the command as printed (it refuses loopback URLs) and asks for the
    # Wi-Fi's password.
    drive = tmp_path / "CIRCUITPY"
    drive.mkdir()
    assert circuitpy_main([*argv[3:], "--drive", str(drive), "--skip-board-check",
                           "--dry-run"], ask=lambda prompt: "pw") == 0
    assert f"set MARS_API_URL = {base}" in capsys.readouterr().out


def test_lan_without_a_lan_address_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(lan, "lan_address", lambda: None)
    with pytest.raises(StackError, match="no LAN address"):
        build_context(parse_args(["--lan", "--data-dir", str(tmp_path)]), {})
    assert not (tmp_path / "local-credentials.json").exists()  # nothing written

def test_every_interface_is_named_by_its_lan_address(monkeypatch):
    monkeypatch.setattr(lan, "lan_address", lambda: "192.168.1.20")
    assert addresses(parse_args(["--host", "0.0.0.0"])) == ("0.0.0.0", "192.168.1.20")
    assert addresses(parse_args(["--lan"])) == ("192.168.1.20", "192.168.1.20")
    assert addresses(parse_args([])) == ("127.0.0.1", "127.0.0.1")
    monkeypatch.setattr(lan, "lan_address", lambda: None)
    assert addresses(parse_args(["--host", "0.0.0.0"])) == ("0.0.0.0", "127.0.0.1")


def test_lan_and_host_are_one_choice(capsys):
    with pytest.raises(SystemExit) as stop:
        parse_args(["--lan", "--host", "0.0.0.0"])
    assert stop.value.code == 2
    assert "argument --host: not allowed with argument --lan" in capsys.readouterr().err


def test_lan_addresses_are_ipv4_and_reachable_from_elsewhere():
    assert lan.is_lan_address("192.168.1.20")
    for host in ("127.0.0.1", "169.254.1.1", "0.0.0.0", "224.0.0.1", "fd00::2", "localhost"):
        assert not lan.is_lan_address(host), host


@pytest.mark.mosquitto
@needs("mosquitto")
def test_external_broker_from_mqtt_url_is_used_instead_of_the_embedded_one():
    with BrokerProcess("mosquitto") as broker, StackProcess(only="broker,api",
                                             env={"MQTT_URL": broker.url}) as stack:
        health = stack.health()["components"]["broker"]
        assert health["url"] == broker.url
        assert "MQTT broker (external)" in stack.log()
        assert port_is_free(stack.mqtt_port)  # nothing embedded was started
        got, subscribed = threading.Event(), threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.on_message = lambda c, u, m: got.set()
        client.on_subscribe = lambda *args: subscribed.set()
        client.connect("127.0.0.1", broker.port)
        client.subscribe("x/y", qos=1)
        client.loop_start()
        try:
            assert subscribed.wait(10)
            client.publish("x/y", b"1", qos=1).wait_for_publish(5)
            assert got.wait(5)
        finally:
            hang_up(client)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_whole_stack_starts_and_ctrl_c_leaves_no_process_behind(tmp_path):
    stack = StackProcess(only="broker,api,web,robot,pyportal", data_dir=tmp_path,
                         ready_timeout=90).start()
    try:
        health = stack.health()["components"]
        assert set(health) == {"broker", "api", "web", "robot", "pyportal"}
        children = [p for p in _processes_mentioning(str(tmp_path))
                    if not p.startswith(f"{stack.process.pid}:")]
        assert len(children) >= 2, children  # the simulated robot and the PyPortal simulator
        assert _processes_mentioning(stack.api_key) == []  # secrets are not in ps (#12, low)
        assert _processes_mentioning(stack.token) == []
        for url_label in ("Robot control page", "PyPortal screen", "Robot (simulated)"):
            assert url_label in stack.log()
    finally:
        code = stack.stop(signal.SIGINT)
    assert code == 0, stack.log()
    # The children may outlive the parent's exit by a moment; a leaked one never goes.
    wait_until(lambda: _processes_mentioning(str(tmp_path)) == [], timeout=10,
               message="a child process outlived the stack")
    assert port_is_free(stack.port) and port_is_free(stack.mqtt_port)
