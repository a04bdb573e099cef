"""``robot-agent doctor``: check everything the agent needs, one line each, with the fix.

    OK   config: /etc/robot-agent/config.toml (robot sts-pi)
    FAIL tcp: cannot reach a1b2-ats.iot.eu-west-1.amazonaws.com:8883 (timed out)
         -> fix: let TCP 8883 out, or use port = 443 (ALPN) in [mqtt]

Exit status 1 when any check fails. Checks that need an earlier one (the broker's after the
config) are skipped when it failed. The MQTT check signs in with the robot's own client id
(IoT policies pin it), so a running service is disconnected once and reconnects at once.
``--motors`` pulses each motor briefly, only after a typed confirmation.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import grp
import http.client
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlparse

from contracts.topics import Topics
from robot_agent.config import ALPN_IOT, AgentConfig, load
from robot_agent.errors import ConfigError
from robot_agent.freshness import Clock, SystemClock

SERVICE_USER = "robot-agent"
TIMEOUT_S = 5.0
CLOCK_TOLERANCE_S = 5.0
CONFIRM = "move"


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool | None  # None: skipped
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = {True: "OK  ", False: "FAIL", None: "SKIP"}[self.ok]
        text = f"{mark} {self.name}: {self.detail}"
        return text + (f"\n     -> fix: {self.fix}" if self.ok is False and self.fix else "")


def _ok(name: str, detail: str) -> Result:
    return Result(name, True, detail)


def _fail(name: str, detail: str, fix: str) -> Result:
    return Result(name, False, detail, fix)


class Doctor:
    """Run the checks against one config.

    :param simulate: the agent runs with ``--simulate``: mock pins, no camera hardware.
    :param clock: the robot's clocks (a seam for tests).
    :param service_active: whether the systemd service runs (it then holds the pins).
    """

    def __init__(self, config_path: str, *, simulate: bool = False, clock: Clock | None = None,
                 service_active: Callable[[], bool] | None = None) -> None:
        self.config_path = config_path
        self.simulate = simulate
        self.clock = clock or SystemClock()
        self.service_active = service_active or _service_active
        self.config: AgentConfig | None = None
        self._tls: ssl.SSLContext | None = None

    def run(self) -> Iterator[Result]:
        yield self.check_config()
        if self.config is None:
            return
        tls = self.config.mqtt.tls
        steps = [("certificate", self.check_tls_material)] if tls else []
        steps += [("dns", self.check_dns), ("tcp", self.check_tcp)]
        steps += [("tls", self.check_tls)] if tls else []
        steps += [("mqtt", self.check_mqtt)]
        failed = False
        for name, step in steps:  # each needs the one before
            if failed:
                yield Result(name, None, "not tried: fix the failure above first")
                continue
            result = step()
            failed = not result.ok
            yield result
        yield self.check_clock()
        yield self.check_gpio()
        yield self.check_pins()
        yield self.check_camera()
        yield self.check_video_channel()

    # -- config and key material -------------------------------------------------------------

    def check_config(self) -> Result:
        try:
            self.config = load(self.config_path)
        except ConfigError as exc:
            return _fail("config", str(exc), f"edit {self.config_path}, or install the robot's "
                                             f"bundle: sudo ./install.sh --bundle NAME.tar.gz")
        return _ok("config", f"{self.config_path} (robot {self.config.name})")

    def check_tls_material(self) -> Result:
        assert self.config is not None
        m = self.config.mqtt
        name = "certificate"
        fix_bundle = "install the robot's bundle again: sudo ./install.sh --bundle NAME.tar.gz"
        try:
            context = ssl.create_default_context(cafile=str(m.ca))
        except (OSError, ssl.SSLError) as exc:
            return _fail(name, f"the CA file {m.ca} cannot be used: {exc}", fix_bundle)
        try:
            context.load_cert_chain(str(m.cert), str(m.key))
        except ssl.SSLError as exc:
            detail = ("the certificate and the key do not match" if "KEY_VALUES_MISMATCH"
                      in str(exc) else f"cannot be loaded: {exc}")
            return _fail(name, detail, fix_bundle)
        except OSError as exc:
            return _fail(name, f"cannot be read: {exc.strerror}", "run doctor with sudo")
        if m.alpn:
            context.set_alpn_protocols([ALPN_IOT])
        self._tls = context
        try:
            decoded = ssl._ssl._test_decode_cert(str(m.cert))  # type: ignore[attr-defined]
            not_before = ssl.cert_time_to_seconds(decoded["notBefore"])
            not_after = ssl.cert_time_to_seconds(decoded["notAfter"])
        except (ssl.SSLError, KeyError, ValueError, AttributeError):
            return _ok(name, "certificate and key match (dates not readable)")
        now = self.clock.wall_ms() / 1000
        if now > not_after:
            return _fail(name, f"expired on {decoded['notAfter']}",
                         "deploy again (python -m tools.deploy deploy ... --robot NAME) and "
                         "install the new bundle")
        if now < not_before:
            return _fail(name, f"not valid before {decoded['notBefore']}: the clock is behind",
                         "sync the clock: sudo timedatectl set-ntp true")
        problem = _key_permissions(Path(str(m.key)))
        if problem:
            return _fail(name, problem, f"sudo chown {SERVICE_USER}: {m.key} && "
                                        f"sudo chmod 600 {m.key}")
        return _ok(name, f"certificate and key match, valid until {decoded['notAfter']}")

    # -- the way to the broker ---------------------------------------------------------------

    def check_dns(self) -> Result:
        assert self.config is not None
        m = self.config.mqtt
        try:
            infos = socket.getaddrinfo(m.host, m.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            return _fail("dns", f"{m.host} does not resolve ({exc.strerror})",
                         "check [mqtt] endpoint/url (aws iot describe-endpoint --endpoint-type "
                         "iot:Data-ATS) and the network (ping 1.1.1.1)")
        return _ok("dns", f"{m.host} -> {infos[0][4][0]}")

    def check_tcp(self) -> Result:
        assert self.config is not None
        m = self.config.mqtt
        try:
            socket.create_connection((m.host, m.port), timeout=TIMEOUT_S).close()
        except OSError as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
            fix = (f"let TCP {m.port} out, or use port = 443 (ALPN) in [mqtt]" if m.tls
                   else "start the broker (make run, or mosquitto) or fix [mqtt] url")
            return _fail("tcp", f"cannot reach {m.host}:{m.port} ({reason})", fix)
        return _ok("tcp", f"{m.host}:{m.port} accepts connections")

    def check_tls(self) -> Result:
        assert self.config is not None and self._tls is not None
        m = self.config.mqtt
        try:
            with socket.create_connection((m.host, m.port), timeout=TIMEOUT_S) as raw, \
                    self._tls.wrap_socket(raw, server_hostname=m.host) as tls:
                tls.settimeout(TIMEOUT_S)
                alpn = tls.selected_alpn_protocol()
                # TLS 1.3 sends a refusal of our certificate after the handshake: wait for
                # it briefly (a broker says nothing before our CONNECT).
                tls.settimeout(0.5)
                with contextlib.suppress(TimeoutError):
                    if tls.recv(1) == b"":
                        raise ConnectionResetError("closed by the broker")
        except ssl.SSLCertVerificationError as exc:
            return _fail("tls", f"the broker's certificate is not trusted: {exc.verify_message}",
                         f"[mqtt] ca must be the broker's root (AmazonRootCA1.pem for AWS IoT); "
                         f"check that {m.host} is your endpoint")
        except (ssl.SSLError, OSError) as exc:
            return _fail("tls", f"the broker refused the handshake: {_reason(exc)}",
                         "the certificate is not registered or not active in this account "
                         "and region: install this robot's bundle from the deploy")
        if m.alpn and alpn != ALPN_IOT:
            return _fail("tls", f"no ALPN {ALPN_IOT} on port {m.port}",
                         "MQTT on 443 needs AWS IoT Core's ATS endpoint; or use port 8883")
        return _ok("tls", "handshake with the robot's certificate" +
                   (f", ALPN {alpn}" if alpn else ""))

    def check_mqtt(self) -> Result:
        assert self.config is not None
        import paho.mqtt.client as mqtt

        from robot_agent.mqtt_link import hang_up, login_fix

        m, name = self.config.mqtt, self.config.name
        topic = Topics.for_robot(name).cmd
        events: dict[str, Any] = {}
        done = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name,
                             protocol=mqtt.MQTTv311, clean_session=True)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        if m.username is not None:
            client.username_pw_set(m.username, m.password)

        def connected(c, userdata, flags, reason, properties) -> None:
            events["connect"] = reason
            if reason.is_failure:
                done.set()
            else:
                c.subscribe(topic, qos=1)

        def subscribed(c, userdata, mid, reasons, properties) -> None:
            events["suback"] = reasons
            done.set()

        def disconnected(c, userdata, flags, reason, properties) -> None:
            events.setdefault("disconnect", reason)
            done.set()

        client.on_connect, client.on_subscribe = connected, subscribed
        client.on_disconnect = disconnected
        try:
            client.connect(m.host, m.port, keepalive=30)
        except (OSError, ValueError) as exc:
            return _fail("mqtt", f"cannot connect: {_reason(exc)}", "see the lines above")
        client.loop_start()
        try:
            done.wait(TIMEOUT_S * 2)
        finally:
            hang_up(client)
        if "connect" not in events:
            return _fail("mqtt", "the broker did not answer CONNECT",
                         login_fix(m, name, self.config_path))
        if events["connect"].is_failure:
            return _fail("mqtt", f"the broker refused the robot: {events['connect']}",
                         login_fix(m, name, self.config_path))
        reasons = events.get("suback")
        if reasons is None or any(code.is_failure for code in reasons):
            return _fail("mqtt", f"subscribing to {topic} was refused",
                         f"the IoT policy must allow iot:Subscribe/iot:Receive on {topic}; "
                         "deploy again to restore it")
        return _ok("mqtt", f"connected as {name} and subscribed to {topic}")

    # -- the Pi ------------------------------------------------------------------------------

    def check_clock(self) -> Result:
        synced = self.clock.synced()
        reference = self._reference_time()
        ntp = "NTP synchronised" if synced else "NTP not synchronised"
        if reference is not None:
            source, ref_s = reference
            off = self.clock.wall_ms() / 1000 - ref_s
            if abs(off) > CLOCK_TOLERANCE_S:
                ahead = "ahead of" if off > 0 else "behind"
                return _fail("clock", f"{abs(off):.0f} s {ahead} {source} ({ntp})",
                             "sudo timedatectl set-ntp true and let UDP 123 out; meanwhile the "
                             "agent judges command age on the commands' own clock")
            return _ok("clock", f"within {abs(off):.0f} s of {source} ({ntp})")
        if not synced:
            return _fail("clock", "NTP not synchronised and no server to compare with",
                         "sudo timedatectl set-ntp true and let UDP 123 out (the robot still "
                         "drives: it judges command age on the commands' own clock)")
        return _ok("clock", ntp)

    def _reference_time(self) -> tuple[str, float] | None:
        """A server's ``Date`` header: the local relay's, or the AWS IoT endpoint's (HTTPS)."""
        assert self.config is not None
        url = self.config.camera.signaling_url
        try:
            if url:
                parts = urlparse(url)
                conn: http.client.HTTPConnection = (
                    http.client.HTTPSConnection if parts.scheme == "wss"
                    else http.client.HTTPConnection)(parts.hostname or "", parts.port,
                                                     timeout=TIMEOUT_S)
                where = f"{parts.hostname}:{parts.port}"
            elif self.config.mqtt.tls and self._tls is not None:
                context = ssl.create_default_context(cafile=str(self.config.mqtt.ca))
                context.load_cert_chain(str(self.config.mqtt.cert), str(self.config.mqtt.key))
                conn = http.client.HTTPSConnection(self.config.mqtt.host, 443, context=context,
                                                   timeout=TIMEOUT_S)
                where = self.config.mqtt.host
            else:
                return None
            conn.request("HEAD", "/")
            date = conn.getresponse().getheader("Date")
            conn.close()
        except (OSError, http.client.HTTPException, ssl.SSLError):
            return None
        parsed = email.utils.parsedate_to_datetime(date) if date else None
        return (where, parsed.timestamp()) if parsed else None

    def check_gpio(self) -> Result:
        if self.simulate:
            return _ok("gpio", "simulated (mock pins)")
        chips = sorted(Path("/dev").glob("gpiochip*"))
        if not chips:
            return _fail("gpio", "no /dev/gpiochip*", "run on a Raspberry Pi with Pi OS "
                                                     "Bookworm (or use --simulate)")
        try:
            user = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return _fail("gpio", f"no user {SERVICE_USER}", "sudo ./install.sh")
        groups = {g.gr_gid for g in grp.getgrall() if SERVICE_USER in g.gr_mem} | {user.pw_gid}
        blocked = [str(c) for c in chips if os.stat(c).st_gid not in groups
                   and not os.stat(c).st_mode & 0o006]
        if blocked:
            group = grp.getgrgid(os.stat(blocked[0]).st_gid).gr_name
            return _fail("gpio", f"{SERVICE_USER} cannot open {blocked[0]} (group {group})",
                         f"sudo usermod -aG {group} {SERVICE_USER}")
        return _ok("gpio", f"{SERVICE_USER} can open {', '.join(c.name for c in chips)}")

    def check_pins(self) -> Result:
        assert self.config is not None
        from robot_agent.drive import Drive, mock_factory

        if not self.simulate and self.service_active():
            return _ok("motor pins", "held by the running robot-agent service")
        try:
            drive = Drive(self.config.motors, mock_factory() if self.simulate else None)
        except Exception as exc:  # gpiozero/lgpio raise many kinds
            return _fail("motor pins", f"cannot claim them: {type(exc).__name__}: {exc}",
                         "another program uses them (sudo lsof /dev/gpiochip*); check the "
                         "[motors] driver matches your board")
        pins = drive.pins
        drive.close()
        return _ok("motor pins", f"{self.config.motors.driver}: BCM {pins} free")

    def check_camera(self) -> Result:
        assert self.config is not None
        driver = self.config.camera.driver
        if driver == "none":
            from robot_agent.camera import NO_CAMERA

            if NO_CAMERA in Path(self.config_path).read_text(encoding="utf-8", errors="replace"):
                return _ok("camera", f"off: {NO_CAMERA}, so install.sh turned video off (the "
                           "page drives over HTTP); attach one, then: sudo ./install.sh")
            return _ok("camera", 'off ([camera] driver = "none")')
        from robot_agent.camera.settings import resolve

        try:
            settings = resolve(self.config.camera, self.config.name, simulate=self.simulate,
                               config_file=self.config.source)
        except ConfigError as exc:
            return _fail("camera", str(exc), f"edit {self.config_path}")
        if driver == "aiortc":
            try:
                import aiortc  # noqa: F401
            except ImportError:
                return _fail("camera", "driver aiortc: aiortc is not installed",
                             "sudo ./install.sh --camera")
        elif not Path(settings.binary).is_file():
            return _fail("camera", f"driver kvs-c-sdk: {settings.binary} does not exist",
                         "build the KVS WebRTC C SDK sample, or set [camera] binary")
        return self._camera_source(driver, settings)

    def _camera_source(self, driver: str, settings: Any) -> Result:
        if settings.source == "test-pattern":
            return _ok("camera", f"driver {driver}, test pattern")
        if settings.source == "v4l2":
            if not Path(settings.device).exists():
                return _fail("camera", f"{settings.device} does not exist",
                             "plug the USB camera in, or set [camera] device")
            return _ok("camera", f"driver {driver}, {settings.device}")
        try:
            from picamera2 import Picamera2
        except ImportError:
            return _fail("camera", "picamera2 is not installed",
                         "sudo apt install python3-picamera2, then sudo ./install.sh --camera")
        cameras = Picamera2.global_camera_info()
        if not cameras:
            return _fail("camera", "no camera detected", "check the ribbon cable (contacts "
                         "facing the right way), then: rpicam-hello --list-cameras")
        return _ok("camera", f"driver {driver}, {cameras[0].get('Model', 'camera')}")

    def check_video_channel(self) -> Result:
        assert self.config is not None
        if self.config.camera.driver == "none":
            return _ok("video channel", "not used (no camera)")
        url = self.config.camera.signaling_url
        if url:
            parts = urlparse(url)
            try:
                socket.create_connection((parts.hostname, parts.port or 80),
                                         timeout=TIMEOUT_S).close()
            except OSError as exc:
                return _fail("video channel", f"the local relay {parts.hostname}:{parts.port} "
                             f"is not reachable ({_reason(exc)})",
                             "start the local stack with its web part (make run)")
            return _ok("video channel", f"local relay {parts.hostname}:{parts.port} reachable")
        return self._kvs_channel()

    def _kvs_channel(self) -> Result:
        assert self.config is not None
        try:
            from robot_agent.camera.iot_credentials import IotCredentialsProvider
            from robot_agent.camera.settings import resolve

            s = resolve(self.config.camera, self.config.name)
            provider = IotCredentialsProvider(s.credentials_endpoint, s.role_alias, s.channel,
                                              s.cert, s.key, s.ca)
            session = provider.boto3_session(s.region)
            session.client("kinesisvideo").describe_signaling_channel(ChannelName=s.channel)
        except Exception as exc:  # credentials, network or AWS refusals
            return _fail("video channel", f"KVS channel not reachable: {_reason(exc)}",
                         "deploy again so the role alias and channel exist; check "
                         "[camera] credentials_endpoint and region")
        return _ok("video channel", f"KVS signaling channel {s.channel} reachable")

    # -- motors ------------------------------------------------------------------------------

    def pulse_motors(self, out: TextIO, seconds: float = 0.3, speed: float = 0.4) -> Result:
        assert self.config is not None
        from robot_agent.drive import Drive, mock_factory

        try:
            drive = Drive(self.config.motors, mock_factory() if self.simulate else None)
        except Exception as exc:
            return _fail("motors", f"cannot claim the pins: {exc}",
                         "sudo systemctl stop robot-agent, then run doctor --motors again")
        try:
            for label, left, right in (("left forward", speed, 0), ("left backward", -speed, 0),
                                       ("right forward", 0, speed),
                                       ("right backward", 0, -speed)):
                print(f"     {label} ...", file=out, flush=True)
                drive.set(left, right)
                time.sleep(seconds)
                drive.stop()
                time.sleep(0.2)
        finally:
            drive.stop()
            drive.close()
        return _ok("motors", "pulsed each wheel both ways (did each turn as named? if not: "
                             "invert_left/invert_right in [motors], or swap its wires)")


def _key_permissions(path: Path) -> str | None:
    try:
        info = path.stat()
    except OSError:
        return None
    if info.st_mode & 0o077:
        return f"{path} is readable by others (mode {oct(info.st_mode & 0o777)})"
    try:
        owner = pwd.getpwnam(SERVICE_USER).pw_uid
    except KeyError:
        return None  # not installed as a service (a laptop, tests)
    if info.st_uid not in (owner, 0) or (info.st_uid == 0 and info.st_mode & 0o040 == 0):
        return f"{path} is not readable by {SERVICE_USER}"
    return None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc) or \
        type(exc).__name__


def _service_active() -> bool:
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return False
    return subprocess.run([systemctl, "is-active", "--quiet", "robot-agent"],
                          check=False).returncode == 0


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None,
         ask: Callable[[str], str] = input, clock: Clock | None = None) -> int:
    parser = argparse.ArgumentParser(prog="robot-agent doctor",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="/etc/robot-agent/config.toml")
    parser.add_argument("--simulate", action="store_true", help="mock pins, no camera hardware")
    parser.add_argument("--motors", action="store_true",
                        help="also pulse each motor briefly (asks first)")
    args = parser.parse_args(argv)
    import sys

    out = out or sys.stdout
    doctor = Doctor(args.config, simulate=args.simulate, clock=clock)
    failed = 0
    for result in doctor.run():
        failed += result.ok is False
        print(result.line(), file=out, flush=True)
    if args.motors and doctor.config is not None:
        answer = ask(f"The wheels will turn. Lift the robot, then type {CONFIRM!r}: ")
        if answer.strip() == CONFIRM:
            result = doctor.pulse_motors(out)
        else:
            result = Result("motors", None, "not moved (no confirmation)")
        failed += result.ok is False
        print(result.line(), file=out, flush=True)
    print(f"{failed} problem(s) found" if failed else "all checks passed", file=out)
    return 1 if failed else 0
