"""The agent: MQTT commands in, motor values out, safely.

Concurrency: one asyncio event loop owns all state (the drive, the deadman timer, the command
gate, the camera). The MQTT link calls back from its network thread; those calls only hand
the event over to the loop (``call_soon_threadsafe``), so state never needs a lock.

Commands come over MQTT and, from viewers, over the camera's WebRTC ``drive`` data channel
(stamped on arrival); both take one path (:meth:`Agent._command`): validation, order/age
gate, driver lease, then the wheels move towards the command's values within the acceleration
limit. Every motor change goes to the viewers' data channels at once, so what the driver sees
follows the motors; on MQTT the status (retained) and telemetry are coalesced while the wheels
change and sent at once for stops, refusals, lease and camera changes (:mod:`robot_agent.report`).

Safety rules, each a test:

- a drive command runs for its ``duration_ms`` (<= 1000) and then stops (deadman); a newer one
  replaces it; ``stop`` stops at once;
- the link dropping stops the motors as soon as it is noticed (a broker closing the connection
  is seen at once; a silent network is covered by the deadman, within ``duration_ms``);
- shutdown (SIGTERM/SIGINT) stops the motors, publishes ``{"online": false}`` and exits 0;
- any unhandled error stops the motors and makes :meth:`Agent.run` return 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from contracts import safejson
from contracts.errors import UnsafeJson
from contracts.topics import Topics
from robot_agent import __version__, commands, freshness, motion
from robot_agent.camera import Camera, NullCamera
from robot_agent.config import AgentConfig
from robot_agent.drive import Drive
from robot_agent.errors import BadCommand, NotACommand
from robot_agent.lease import DriverLease
from robot_agent.mqtt_link import OFFLINE, Link, login_fix
from robot_agent.report import Reporter
from robot_agent.service import Notifier

log = logging.getLogger("robot_agent")

HEALTH_CHECK_S = 1.0
OFFLINE_GRACE_S = 120.0  # cut off longer than this: stop feeding the watchdog (restart helps)
# A joystick sends 20 commands a second (the page's ANALOG_MS = 50); beyond this a viewer's
# data channel is flooding, and each command would cost MQTT messages (status, telemetry).
CHANNEL_RATE_PER_S = 30
CHANNEL_BURST = 15
FALLBACK_WAIT_S = 0.25  # a page's first HTTP command after its channel closed waits this long
FALLBACK_STEP_S = 0.01


class RateLimit:
    """A token bucket: ``rate`` a second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at: float | None = None

    def allow(self, now: float) -> bool:
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _is_stop(payload: str | bytes) -> bool:
    """Whether a data-channel message asks to stop (checked before the rate limit: a stop
    always gets through; anything unreadable is not one)."""
    try:
        body = safejson.loads(payload, max_bytes=1024)  # no stop is longer
    except UnsafeJson:
        return False
    return isinstance(body, dict) and body.get("action") == "stop"


def wall_ms() -> int:
    return int(time.time() * 1000)


class Agent:
    """Wire a config, a drive, a link and a camera together and run until stopped.

    :param clock_ms: wall-clock milliseconds (the ``t_ms`` stamps of what the agent publishes).
    :param clock: the clocks command freshness is judged on (see :mod:`robot_agent.freshness`).
    :param state_dir: where the last applied command is kept across restarts.
    """

    def __init__(self, config: AgentConfig, drive: Drive, link: Link,
                 camera: Camera | None = None, *, notifier: Notifier | None = None,
                 clock_ms: Callable[[], int] = wall_ms, clock: freshness.Clock | None = None,
                 state_dir: str | None = None) -> None:
        self.config = config
        self.drive = drive
        self.link = link
        self.camera = camera or NullCamera()
        self.notifier = notifier or Notifier({})
        self.clock_ms = clock_ms
        self.topics = Topics.for_robot(config.name)
        self.gate = freshness.Gate(config.commands.max_command_age_ms, clock, state_dir)
        self.started_ms = clock_ms()
        self.exit_code = 0
        self.error: BaseException | None = None
        self.applied = 0
        self.rejected = 0
        self.ignored = 0  # non-command payloads on a command topic
        self.camera_fault: str | None = None
        self._closing = False
        self._health: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._deadman: asyncio.TimerHandle | None = None
        self._ramp: asyncio.TimerHandle | None = None
        self._lease_timer: asyncio.TimerHandle | None = None
        self.lease = DriverLease(int(config.driving.lease_s * 1000))
        self.last_stop: dict[str, Any] | None = None  # who sent the last stop (anyone may)
        self._rates: dict[str, RateLimit] = {}  # per viewer's data channel
        self.rate_dropped = 0
        self._rate_logged = -math.inf
        self._target = self._wheels = (0.0, 0.0)  # logical values, before the speed cap
        self._stepped_at = -math.inf
        self._action: str | None = None
        self._motors_ms: int | None = None
        self._status_at = time.monotonic()
        self._seq: int | None = None
        self._offline_since: float | None = time.monotonic()
        self.ready: asyncio.Event | None = None  # set on the first connection
        self.reporter = Reporter(self._send_status, self._send_telemetry,
                                 lambda: self._loop.call_later if self._loop else None,
                                 time.monotonic, clock_ms)
        self.refused: str | None = None  # why the broker refuses our login, while it does

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until :meth:`request_stop` or a fatal error; returns the exit code."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        self._loop.set_exception_handler(self._loop_error)
        self.link.on_connect = lambda: self._post(self._link_up)
        self.link.on_disconnect = lambda reason: self._post(self._link_lost, reason)
        self.link.on_refused = lambda reason: self._post(self._login_refused, reason)
        self.link.on_message = lambda topic, payload: self._post(self._message, topic, payload)
        self.camera.on_change = lambda state: self._publish_status()
        self.camera.on_drive = self._channel_message
        self.camera.on_viewer_gone = self._viewer_gone
        self.camera.on_drive_closed = self._drive_closed
        log.info("starting %s", self.config.redacted())
        health = self._health = asyncio.create_task(self._health_loop())
        try:
            self.link.start()
            try:
                await self.camera.start()
            except Exception as exc:  # driving works without video; the status says "error"
                log.exception("camera failed to start; driving continues without video")
                self.camera_fault = f"{type(exc).__name__}: {exc}"[:200]
                self._publish_status()
            await self._stop.wait()
        finally:
            health.cancel()
            await self._shutdown()
        return self.exit_code

    def request_stop(self) -> None:
        """Stop the agent; safe from any thread and from signal handlers."""
        if self._stop is not None:
            self._post(self._stop.set)

    async def _shutdown(self) -> None:
        self._closing = True
        self._halt("shutdown")
        self.reporter.cancel()
        if self._lease_timer is not None:
            self._lease_timer.cancel()
        self.notifier.stopping()
        try:
            await asyncio.wait_for(self.camera.stop(), 10)
        except Exception:
            log.exception("camera did not stop cleanly")
        loop = asyncio.get_running_loop()
        if self.link.connected:
            # A deliberate disconnect sends no Last Will, so say it ourselves.
            await loop.run_in_executor(None, lambda: self.link.publish(
                self.topics.status, OFFLINE, qos=1, retain=True, wait_s=1.0))
        await loop.run_in_executor(None, self.link.close)
        log.info("stopped (exit %d)", self.exit_code)

    def _fatal(self, error: BaseException) -> None:
        self.drive.stop()  # first: whatever broke, the wheels stop
        if self.error is None:
            self.error = error
            self.exit_code = 1
        if self._stop is not None:
            self._stop.set()

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception") or RuntimeError(context.get("message", "loop error"))
        task = context.get("future") or context.get("task")
        if task is not None and task is not self._health:
            # A task the agent did not start: the camera's (aiortc's senders, a driver). Video
            # stops; driving does not.
            log.error("camera task failed; driving continues: %s", context.get("message"),
                      exc_info=error)
            self.camera_fault = f"{type(error).__name__}: {error}"[:200]
            self._publish_status()
            return
        log.error("unhandled error, stopping: %s", context.get("message"), exc_info=error)
        self._fatal(error)

    def _post(self, func: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # RuntimeError: the loop closed in between, we are shutting down.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(func, *args)

    # -- link events -------------------------------------------------------------------------

    def _link_up(self) -> None:
        self._offline_since = None
        self._publish_status()
        log.info("connected to the broker as %s%s", self.config.name,
                 " (the login is accepted now)" if self.refused else "")
        self.refused = None
        if self.ready is not None:
            self.ready.set()
        self.notifier.ready(f"connected as {self.config.name}")

    def _link_lost(self, reason: str) -> None:
        self.reporter.drop_pending()
        if self._offline_since is None:
            self._offline_since = time.monotonic()
        moving = self.drive.value != (0.0, 0.0)
        self._halt("link lost")
        if self._closing:
            log.info("disconnected from the broker (shutting down)")
            return
        log.warning("link lost (%s)%s; reconnecting", reason, ", motors stopped" if moving else "")
        self.notifier.status(f"reconnecting: {reason}")

    def _login_refused(self, reason: str) -> None:
        """The broker will not take us as we are: say so once, with the fix, and keep trying
        (the fix may be on the broker's side). Not a lost link: it was never up."""
        if reason != self.refused:
            log.error("the broker refused the login as %s: %s; fix: %s; check with: sudo "
                      "robot-agent doctor; retrying at least every %g s",
                      self.config.name, reason,
                      login_fix(self.config.mqtt, self.config.name, self.config.source),
                      self.config.mqtt.reconnect_max_s)
        self.refused = reason
        self.notifier.status(f"login refused by the broker: {reason}")

    def _message(self, topic: str, payload: bytes) -> None:
        self._command(payload, legacy=topic == self.topics.legacy)

    def _channel_message(self, viewer: str, payload: str | bytes) -> None:
        """A viewer's drive data channel: stamped on arrival, then the same path as MQTT."""
        if not self._channel_rate(viewer).allow(time.monotonic()) and not _is_stop(payload):
            self._too_fast(viewer)
            return  # beyond what a joystick sends: dropped unanswered (a stop never is)
        # Stamped on the clock MQTT commands are judged on, so both kinds order together.
        seq, now = self.gate.stamp(self.gate.clock.mono_ms(), self.clock_ms())
        arrival = commands.Arrival(id=f"dc-{uuid.uuid4().hex[:12]}", seq=seq, issued_ms=now,
                                   client=viewer)
        refused = self._command(payload, arrival=arrival)
        reply: dict[str, Any] = {"reply": "applied" if refused is None else "rejected",
                                 "t_ms": self.clock_ms()}
        if refused is not None:
            reply.update(reason=refused.reason, detail=refused.detail)
        self.camera.send_drive(viewer, reply)

    def _channel_rate(self, viewer: str) -> RateLimit:
        bucket = self._rates.get(viewer)
        if bucket is None:
            bucket = self._rates[viewer] = RateLimit(CHANNEL_RATE_PER_S, CHANNEL_BURST)
        return bucket

    def _too_fast(self, viewer: str) -> None:
        self.rate_dropped += 1
        now = time.monotonic()
        if now - self._rate_logged >= 1.0:  # one line a second, however fast the flood
            self._rate_logged = now
            log.warning("viewer %s sends more than %d commands a second; dropping the excess "
                        "(%d so far)", viewer[:64], CHANNEL_RATE_PER_S, self.rate_dropped)

    def _command(self, payload: bytes | str, *, legacy: bool = False,
                 arrival: commands.Arrival | None = None,
                 fallback_until: float | None = None) -> BadCommand | None:
        """Validate, gate, check the lease, apply: one path for every way a command comes.

        :param fallback_until: a command held back (see :meth:`_held_for_fallback`) is
            decided by this monotonic time at the latest.
        :returns: ``None`` when applied, else why it was refused (also sent as telemetry).
        """
        via = "channel" if arrival is not None else "mqtt"
        received = self.gate.clock.mono_ms()
        source = self.gate.source
        try:
            command = commands.parse(payload, self.config.commands, legacy=legacy,
                                     arrival=arrival)
            now = self.clock_ms()
            self.gate.check(command, received, local=arrival is not None)
            driver = command.driver
            self._forget_closed_driver(now)
            change = self.lease.claim(driver, driving=command.action != "stop",
                                      take_over=command.take_over, now_ms=now,
                                      command_id=command.id)
        except NotACommand as exc:
            if arrival is None:  # e.g. a status leaked onto the topic: no log line each
                self.ignored += 1
                log.debug("ignored a message on the command topic: %s", exc.detail)
                return exc
            self.rejected += 1
            return exc
        except BadCommand as exc:
            if self._held_for_fallback(exc, payload, legacy, arrival, fallback_until):
                return None
            self.rejected += 1
            log.info("rejected command %s (%s): %s", exc.command_id, via, exc)
            self._telemetry({"event": "rejected", "id": exc.command_id, "reason": exc.reason,
                             "detail": exc.detail, "t_ms": self.clock_ms(), "via": via})
            return exc
        self.gate.applied(command, received, local=arrival is not None)
        if self.gate.source != source:
            self._publish_status()  # what command age is judged on changed: say so
        if change is not None:
            previous = self.lease.previous
            log.info("driver %s: %s", change, driver.key)
            self._telemetry({"event": "lease", "cause": change, **driver.describe(),
                             "t_ms": now,
                             "previous": previous.driver.client if previous else None})
        if command.action == "stop":
            self.last_stop = {**driver.describe(), "via": via, "t_ms": now}
        self._arm_lease_timer()
        self.apply(command, via)
        if change is not None:
            self._publish_status()  # who drives is news at once, even mid-drive
        return None

    def _held_for_fallback(self, refusal: BadCommand, payload: bytes | str, legacy: bool,
                           arrival: commands.Arrival | None, until: float | None) -> bool:
        """A page whose drive channel closes goes on over HTTP at once, as its signed-in user:
        its first commands can reach the robot before the channel's close does. A command from
        the API naming the channel driver's viewer id is held back (for at most
        :data:`FALLBACK_WAIT_S`, within the last channel command's deadman) and decided again
        once that channel has closed; anyone else's is ``busy`` as before, just later."""
        holder = self.lease.holder
        if refusal.reason != "busy" or arrival is not None or holder is None:
            return False
        if not holder.driver.key.startswith("viewer:"):
            return False
        try:
            client = safejson.loads(payload, max_bytes=1024).get("client")
        except (UnsafeJson, AttributeError):
            return False
        now = time.monotonic()
        until = now + FALLBACK_WAIT_S if until is None else until
        if client != holder.driver.client or now >= until or self._loop is None:
            return False
        self._loop.call_later(FALLBACK_STEP_S, lambda: self._command(
            payload, legacy=legacy, fallback_until=until))
        return True

    def _forget_closed_driver(self, now_ms: int) -> None:
        """A viewer holding the lease whose drive channel is no longer open has left, even if
        the channel's close has not completed yet (its page goes on over HTTP at once)."""
        holder = self.lease.current(now_ms)
        if holder is not None and holder.driver.key.startswith("viewer:") and (
                self.camera.drive_channel and not self.camera.drive_open(holder.driver.client)):
            self._drive_closed(holder.driver.client)

    def _viewer_gone(self, viewer: str) -> None:
        """A viewer's video connection closed: if it was driving, the motors stop now, not
        at the deadman, and the lease is free."""
        self._drive_closed(viewer, halt=True)

    def _drive_closed(self, viewer: str, halt: bool = False) -> None:
        """A viewer's drive channel closed: the lease it held is free (the page goes on over
        HTTP, as its signed-in user, with no gap; the deadman bounds the last command)."""
        self._rates.pop(viewer, None)
        if self.lease.release(f"viewer:{viewer}"):
            log.info("driver %s left%s; the lease is free", viewer,
                     ", motors stopped" if halt else "")
            if halt:
                self._halt("driver left")
            self._telemetry({"event": "lease", "cause": "left", "client": viewer,
                             "t_ms": self.clock_ms()})
            self._publish_status()

    def _arm_lease_timer(self) -> None:
        # Others see the lease end when it ends, not at the next heartbeat.
        if self._lease_timer is not None:
            self._lease_timer.cancel()
        assert self._loop is not None
        self._lease_timer = self._loop.call_later(self.config.driving.lease_s + 0.01,
                                                  self._publish_status)

    # -- driving -----------------------------------------------------------------------------

    def apply(self, command: commands.Command, via: str = "mqtt") -> None:
        """Drive towards ``command``'s wheel values (replacing whatever ran), arm the deadman."""
        self._cancel_deadman()
        self._seq = command.seq
        self.applied += 1
        self._action = command.action
        self._target = commands.wheels(command)
        self._step("command", command.id, via)
        if command.action != "stop":
            assert self._loop is not None
            self._deadman = self._loop.call_later(command.duration_ms / 1000, self._expire,
                                                  command.id)

    def _step(self, cause: str, command_id: str | None, via: str | None = None) -> None:
        """Move the wheels one step towards the target, within the acceleration limit."""
        self._ramp = None
        driving = self.config.driving
        now = time.monotonic()
        step_s = driving.ramp_step_ms / 1000
        rise = (driving.max_accel_per_s * min(now - self._stepped_at, step_s)
                if driving.max_accel_per_s else math.inf)
        current = self._wheels
        wheels = motion.step(current, self._target, rise)
        if wheels != current:
            self._wheels = wheels
            self.drive.set(*wheels)
            # Timed after the pins moved, as t_ms is: a busy machine pausing us between the
            # two must not let the next step count that pause twice.
            self._stepped_at = time.monotonic()
            self._publish_motors(cause, command_id, via)
        if wheels != self._target:
            assert self._loop is not None
            self._ramp = self._loop.call_later(step_s, self._step, "ramp", command_id, via)

    def _expire(self, command_id: str) -> None:
        self._deadman = None
        self._halt("deadman", command_id)

    def _halt(self, cause: str, command_id: str | None = None) -> None:
        """Stop at once (no ramp), and say so if anything moved."""
        self._cancel_deadman()
        moving = self._wheels != (0.0, 0.0) or self.drive.value != (0.0, 0.0)
        self._target = self._wheels = (0.0, 0.0)
        self._action = "stop"
        self.drive.stop()
        if moving:
            self._stepped_at = time.monotonic()  # a start right after a stop is a step too
            self._publish_motors(cause, command_id)

    def _cancel_deadman(self) -> None:
        if self._deadman is not None:
            self._deadman.cancel()
            self._deadman = None
        if self._ramp is not None:
            self._ramp.cancel()
            self._ramp = None

    # -- publishing --------------------------------------------------------------------------

    def _publish_motors(self, cause: str, command_id: str | None = None,
                        via: str | None = None) -> None:
        left, right = self.drive.value
        self._motors_ms = self.clock_ms()
        event: dict[str, Any] = {"event": "motors", "left": left, "right": right,
                                 "seq": self._seq, "t_ms": self._motors_ms, "cause": cause,
                                 "id": command_id, "via": via}
        if self.drive.describe()["simulated"]:
            event["pins"] = self.drive.pin_states()  # the mock pins, visible in the stack
        # A stop is news now; the steps of a drive go out together, once a report interval.
        stopped = (left, right) == (0.0, 0.0)
        self._telemetry(event, urgent=stopped)
        self._publish_status(urgent=stopped)  # the driver's readout follows every step

    def _telemetry(self, event: dict[str, Any], urgent: bool = True) -> None:
        if self.link.connected:
            self.reporter.event(event, urgent)

    def _send_telemetry(self, message: dict[str, Any]) -> None:
        if self.link.connected:
            self.link.publish(self.topics.telemetry, message, qos=0)

    def status(self) -> dict[str, Any]:
        now = self.clock_ms()
        motors = {**self.drive.describe(), "t_ms": self._motors_ms}
        return {"online": True, "name": self.config.name, "version": __version__,
                "motors": motors, "action": self._action, "seq": self._seq,
                "driver": self.lease.describe(now), "last_stop": self.last_stop,
                "camera": self.camera_state(),
                "drive_channel": self.camera.drive_channel, "clock": self.gate.describe(),
                # Republished at least this often: a reader can call a status older than a
                # few heartbeats stale (a frozen agent keeps its connection for 1.5 keepalives).
                "heartbeat_s": self.config.driving.heartbeat_s,
                "since_ms": self.started_ms, "t_ms": now}

    def camera_state(self) -> dict[str, Any]:
        """The camera's own state, or ``error`` with the reason when it failed under us."""
        state = dict(self.camera.state)
        if self.camera_fault is not None:
            state.update(state="error", error=self.camera_fault)
        return state

    def _publish_status(self, urgent: bool = True) -> None:
        """The state changed: the viewers' data channels get it now, MQTT when it is due."""
        self.camera.broadcast_drive({"state": self.status()})
        self.reporter.status(urgent)

    def _send_status(self) -> None:
        self._status_at = time.monotonic()
        if self.link.connected:
            self.link.publish(self.topics.status, self.status(), qos=1, retain=True)

    # -- health ------------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        """The loop runs (we are in it), the link's thread lives, and we are not long cut off."""
        if not self.link.alive or self.error is not None:
            return False
        return (self._offline_since is None
                or time.monotonic() - self._offline_since < OFFLINE_GRACE_S)

    async def _health_loop(self) -> None:
        interval = min(self.notifier.watchdog_interval_s or HEALTH_CHECK_S, HEALTH_CHECK_S,
                       self.config.driving.heartbeat_s / 2)
        while True:
            await asyncio.sleep(interval)
            if not self.link.alive:
                self._fatal(RuntimeError("the MQTT network thread died"))
                return
            if self.healthy:
                self.notifier.watchdog()
            if time.monotonic() - self._status_at >= self.config.driving.heartbeat_s:
                self._publish_status()  # idle: "Last report" stays fresh
