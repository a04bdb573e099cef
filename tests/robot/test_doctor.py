"""``robot-agent doctor`` against the real local stack and brokers: all OK where all is well,
and each fault a FAIL line with its fix and a non-zero exit."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from robot_agent import doctor

from testing.mqtt_brokers import BrokerProcess
from testing.robot_harness import FakeClock
from testing.stack_process import StackProcess

HOUR = 3_600_000


def run(config: str, *args: str, clock=None, ask=lambda prompt: "") -> tuple[int, str]:
    out = io.StringIO()
    code = doctor.main(["--config", config, "--simulate", *args], out=out, ask=ask,
                       clock=clock or FakeClock(synced=False))
    return code, out.getvalue()


def lines(output: str) -> dict[str, str]:
    """``{check name: its line and fix}``."""
    found: dict[str, str] = {}
    name = ""
    for line in output.splitlines():
        if line.startswith(("OK", "FAIL", "SKIP")):
            name = line[5:].split(":", 1)[0]
            found[name] = line
        elif line.startswith("     -> fix:") and name:
            found[name] += "\n" + line
    return found


@pytest.fixture(scope="module")
def stack():
    with StackProcess(only="broker,api,web") as running:
        yield running


def stack_config(stack, tmp_path, name: str = "sts-pi", url: str | None = None) -> str:
    path = tmp_path / "robot-agent.toml"
    path.write_text(
        f'name = "{name}"\n[mqtt]\nurl = "{url or stack.mqtt_url}"\n'
        f'username = "{name}"\npassword = {json.dumps(stack.mqtt_password(name))}\n'
        f'[camera]\ndriver = "aiortc"\n'
        f'signaling_url = "ws://127.0.0.1:{stack.port}/signaling"\n'
        f'signaling_token = "{stack.token}"\n')
    return str(path)


def test_all_ok_against_the_local_stack(stack, tmp_path):
    code, output = run(stack_config(stack, tmp_path))
    assert code == 0, output
    found = lines(output)
    assert set(found) == {"config", "dns", "tcp", "mqtt", "clock", "gpio", "motor pins",
                          "camera", "video channel"}
    assert all(line.startswith("OK") for line in found.values()), output
    assert "subscribed to robot/sts-pi/cmd" in found["mqtt"]
    assert output.rstrip().endswith("all checks passed")


def test_a_clock_off_by_an_hour(stack, tmp_path):
    code, output = run(stack_config(stack, tmp_path), clock=FakeClock(HOUR, synced=False))
    assert code == 1
    clock = lines(output)["clock"]
    # The hour plus however long the check took on a loaded machine.
    ahead = re.match(r"FAIL clock: (\d+) s ahead of 127\.0\.0\.1", clock)
    assert ahead and 3600 <= int(ahead.group(1)) <= 3630 and "timedatectl" in clock, clock


def test_a_wrong_password_is_refused_by_the_broker(stack, tmp_path):
    path = Path(stack_config(stack, tmp_path))
    path.write_text(path.read_text().replace(stack.mqtt_password("sts-pi"), "wrong"))
    code, output = run(str(path))
    assert code == 1 and lines(output)["mqtt"].startswith("FAIL mqtt: the broker refused")


def test_a_wrong_endpoint(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('name = "sts-pi"\n[mqtt]\nurl = "mqtt://no-such-broker.invalid:1883"\n')
    code, output = run(str(path))
    found = lines(output)
    assert code == 1 and found["dns"].startswith("FAIL dns: no-such-broker.invalid")
    assert "-> fix:" in found["dns"] and found["mqtt"].startswith("SKIP")


def test_a_stopped_broker(tmp_path):
    broker = BrokerProcess("amqtt").start()
    path = tmp_path / "c.toml"
    path.write_text(f'name = "sts-pi"\n[mqtt]\nurl = "{broker.url}"\n')
    try:
        assert lines(run(str(path))[1])["mqtt"].startswith("OK")
    finally:
        broker.stop()
    code, output = run(str(path))
    tcp = lines(output)["tcp"]
    assert code == 1 and tcp.startswith("FAIL tcp:") and "start the broker" in tcp


@pytest.mark.mosquitto
def test_a_wrong_certificate(tls_broker, pki, tmp_path):
    def config(cert: str, key: str) -> str:
        path = tmp_path / f"{cert}-{key}.toml"
        path.write_text(f'name = "testbot"\n[mqtt]\nurl = "mqtts://localhost:{tls_broker.port}"'
                        f'\ncert = "{pki[cert]}"\nkey = "{pki[key]}"\nca = "{pki["ca"]}"\n')
        return str(path)

    code, output = run(config("client_cert", "client_key"))
    found = lines(output)
    assert found["certificate"].startswith("OK") and found["tls"].startswith("OK")
    assert found["mqtt"].startswith("OK"), output
    code, output = run(config("stranger_cert", "stranger_key"))  # another CA's certificate
    tls = lines(output)["tls"]
    assert code == 1 and tls.startswith("FAIL tls: the broker refused") and "bundle" in tls
    code, output = run(config("client_cert", "stranger_key"))  # a key of another certificate
    certificate = lines(output)["certificate"]
    assert code == 1 and "do not match" in certificate and "--bundle" in certificate


def test_a_bad_config_and_the_motors_only_after_confirmation(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "sts pi"\n')
    code, output = run(str(bad))
    assert code == 1 and lines(output)["config"].startswith("FAIL config:")
    good = tmp_path / "good.toml"
    good.write_text('name = "sts-pi"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n')
    asked = []
    _, output = run(str(good), "--motors", ask=lambda prompt: asked.append(prompt) or "no")
    assert asked and lines(output)["motors"].startswith("SKIP") and "forward" not in output
    _, output = run(str(good), "--motors", ask=lambda prompt: doctor.CONFIRM)
    assert lines(output)["motors"].startswith("OK") and "right backward" in output


def test_the_agent_help_lists_doctor(capsys):
    # Every error message recommends doctor: --help must show it is there.
    from robot_agent.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    shown = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "robot-agent doctor [--config PATH] [--simulate] [--motors]" in shown
    assert "doctor    check the setup" in shown
