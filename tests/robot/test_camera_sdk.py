"""The KVS C SDK supervisor against a fake sample binary, and the [camera] settings."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap

import pytest
from robot_agent.camera import NullCamera, build_camera
from robot_agent.camera.kvs_c_sdk import KvsCSdkCamera, child_environment
from robot_agent.camera.settings import parse_settings
from robot_agent.errors import ConfigError

pytestmark = pytest.mark.timeout(60)

# Stands in for kvsWebrtcClientMasterGstSample: records each run, crashes on the first two,
# then logs the readiness line and waits for SIGINT like the real sample.
FAKE = textwrap.dedent("""\
    #!{python}
    import json, os, pathlib, signal, sys, time
    runs = pathlib.Path("runs.jsonl")
    with runs.open("a") as f:
        f.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "t": time.time(),
                            "env": {{k: v for k, v in os.environ.items()
                                    if k.startswith(("AWS_", "SECRET"))}}}}) + "\\n")
    n = len(runs.read_text().splitlines())
    print("[KVS Master] KVS WebRTC initialization completed successfully", flush=True)
    if n <= 2:
        print("[KVS GStreamer Master] Terminated with status code 0x5200001a", flush=True)
        sys.exit(1)
    def on_int(*_):
        print("Cleanup done", flush=True)
        pathlib.Path("sigint").write_text("yes")
        sys.exit(0)
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGTERM, lambda *_: pathlib.Path("sigterm").write_text("yes"))
    print("[KVS GStreamer Master] Channel sts-pi set up done ", flush=True)
    while True:
        time.sleep(0.1)
    """)


def aws_section(tmp_path, **extra):
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text("-")
    return {"driver": "kvs-c-sdk", "region": "eu-west-1",
            "credentials_endpoint": "c2abc.credentials.iot.eu-west-1.amazonaws.com",
            "role_alias": "robot-camera", "cert": str(tmp_path / "cert.pem"),
            "key": str(tmp_path / "key.pem"), "ca": str(tmp_path / "ca.pem"), **extra}


def test_supervisor_ready_restart_with_backoff_and_sigint(tmp_path, monkeypatch):
    fake = tmp_path / "kvsWebrtcClientMasterGstSample"
    fake.write_text(FAKE.format(python=sys.executable))
    fake.chmod(0o755)
    work = tmp_path / "work"
    settings = parse_settings(aws_section(tmp_path, binary=str(fake), work_dir=str(work),
                                          source_type="testsrc"), "sts-pi")
    monkeypatch.setenv("AWS_IOT_CORE_CERTIFICATE_ID", "would-replace-the-channel")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "never-passed-on")

    async def scenario():
        states = []
        camera = KvsCSdkCamera(settings, states.append, backoff=(0.2, 0.4), stable_s=30)
        await camera.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while camera.state["state"] != "streaming":
            assert loop.time() < deadline, states
            await asyncio.sleep(0.05)
        await camera.stop()
        return states, camera

    states, camera = asyncio.run(scenario())
    runs = [json.loads(line) for line in (work / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 3 and camera.restarts == 2
    gaps = [b["t"] - a["t"] for a, b in zip(runs, runs[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # doubling backoff between crashes
    run = runs[-1]
    assert run["argv"] == ["sts-pi", "video-only", "testsrc"]
    assert run["cwd"] == str(work)
    env = run["env"]
    assert env["AWS_IOT_CORE_THING_NAME"] == "sts-pi"
    assert env["AWS_IOT_CORE_ROLE_ALIAS"] == "robot-camera"
    assert env["AWS_IOT_CORE_CREDENTIAL_ENDPOINT"].startswith("c2abc.credentials.iot")
    assert env["AWS_KVS_CACERT_PATH"].endswith("ca.pem")
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1" and env["AWS_KVS_LOG_LEVEL"] == "3"
    assert "AWS_IOT_CORE_CERTIFICATE_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert (work / "sigint").exists() and not (work / "sigterm").exists()
    kinds = [s["state"] for s in states]
    assert kinds[0] == "starting" and "error" in kinds
    assert kinds[-2:] == ["streaming", "off"]


def test_missing_binary_is_an_error_state_not_a_crash(tmp_path):
    settings = parse_settings(aws_section(tmp_path, binary=str(tmp_path / "absent"),
                                          work_dir=str(tmp_path / "w")), "sts-pi")

    async def scenario():
        camera = KvsCSdkCamera(settings, backoff=(0.05, 0.1))
        await camera.start()
        await asyncio.sleep(0.3)
        state = camera.state
        await camera.stop()
        return state, camera.state

    during, after = asyncio.run(scenario())
    assert during["state"] == "error" and "cannot run" in during["error"]
    assert after == {"state": "off", "viewers": 0}


def test_child_environment_drops_static_keys(tmp_path):
    settings = parse_settings(aws_section(tmp_path, binary="/x"), "sts-pi")
    env = child_environment(settings, {"PATH": "/bin", "AWS_ACCESS_KEY_ID": "AKIA",
                                       "AWS_SESSION_TOKEN": "t"})
    assert env["PATH"] == "/bin" and "AWS_ACCESS_KEY_ID" not in env
    assert "AWS_SESSION_TOKEN" not in env


def test_settings_defaults_and_refusals(tmp_path):
    assert isinstance(build_camera(None, "sts-pi", simulate=True), NullCamera)
    local = {"driver": "aiortc", "signaling_url": "ws://127.0.0.1:8080/signaling",
             "signaling_token": "tok"}
    s = parse_settings(local, "sts-pi", simulate=True)
    assert (s.source, s.width, s.height, s.fps, s.channel) == ("test-pattern", 640, 480, 15,
                                                               "sts-pi")
    assert parse_settings(local, "sts-pi").source == "picamera2"
    bad = [
        ({**local, "fps": 90}, "fps"), ({**local, "width": 641}, "width"),
        ({**local, "width": "640"}, "width"), ({**local, "sorce": "v4l2"}, "sorce"),
        ({**local, "source": "webcam"}, "source"), ({**local, "signaling_token": ""},
                                                    "signaling_token"),
        ({**local, "signaling_url": "http://x"}, "signaling_url"),
        ({"driver": "aiortc"}, "region"),
        (aws_section(tmp_path, credentials_endpoint="https://x/y"), "credentials_endpoint"),
        (aws_section(tmp_path), "binary"),
        (aws_section(tmp_path, cert=str(tmp_path / "nope.pem"), binary="/x"), "cert"),
        ({"driver": "gstreamer"}, "driver"),
    ]
    for section, key in bad:
        with pytest.raises(ConfigError, match=rf"\[camera\].*{key}"):
            build_camera(section, "sts-pi", simulate=False)
    with pytest.raises(ConfigError) as info:
        parse_settings({**local, "signaling_token": 5}, "sts-pi")
    assert "5" not in str(info.value).split("is invalid")[0]  # the token is never echoed
