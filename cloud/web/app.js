// The control page: sign-in, robot status, live video and driving, wired together.
//
// Commands go over the video connection's `drive` data channel when it is open, otherwise
// (no video yet, or the channel dropped) over POST /robot/{name}/cmd: the same JSON either way.
// The robot's state arrives over the data channel on every change; without it the page polls
// GET /robot/{name}/status, every FAST_POLL_MS while driving and every STATUS_EVERY_MS else.

import { ApiError, RobotApi } from "./api.js";
import { Auth, SessionExpired } from "./auth.js";
import { Driver } from "./drive.js";
import { GamepadInput } from "./gamepad.js";
import { Joystick } from "./joystick.js";
import { Viewer, sessionKey } from "./video.js";

const $ = (id) => document.getElementById(id);
const STATUS_EVERY_MS = 2000;
const FAST_POLL_MS = 100;
const SETTLE_MS = 1000; // keep polling fast this long after the last command
const AFTER_POST_MS = 20; // without the channel, look at the motors this soon after a command
// online: true, false, or null while unknown (e.g. no such robot); signedIn gates every call.
const state = {
  robot: null, online: null, signedIn: false, shownMs: 0, status: null, lastSendAt: -Infinity,
  path: null, rtt: null, driverClient: null,
};

function show(text, kind = "error") {
  const box = $("message");
  box.textContent = text || "";
  box.className = `message ${kind}`;
  box.hidden = !text;
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

const wheels = (m) => `L ${Number(m.left).toFixed(2)} · R ${Number(m.right).toFixed(2)}`;

function renderLink(viewer) {
  const channel = viewer.channel && viewer.channel.open;
  $("status-link").textContent = channel ? "peer to peer (video data channel)"
    : "HTTP (API)" + (viewer.channel ? " · data channel connecting" : "");
  $("status-link").dataset.path = channel ? "channel" : "http";
  $("status-rtt").textContent = state.rtt === null ? "—"
    : `${Math.round(state.rtt)} ms (${state.path === "channel" ? "data channel" : "HTTP"})`;
}

/** Show the robot's status; `status` null means "unknown" (the API could not say). */
function renderStatus(status, driver, viewer) {
  // Status comes by two paths (poll and data channel): never let an older one win.
  if (status && status.t_ms && status.online && status.t_ms < state.shownMs) return;
  if (status && status.t_ms) state.shownMs = status.t_ms;
  state.status = status;
  const online = status === null ? null : Boolean(status.online);
  state.online = online;
  $("status").dataset.online = String(online === null ? "unknown" : online);
  $("status-online").textContent = online === null ? "unknown"
    : online ? "online" : status.reported === false ? "offline (never reported)" : "offline";
  const cam = status && status.camera;
  $("status-camera").textContent = cam
    ? `${cam.state}${cam.viewers ? ` · ${cam.viewers} watching` : ""}` : "—";
  const motors = status && status.motors;
  // Offline, the motors are stopped (the agent stops them when its link drops).
  $("status-motors").textContent = motors && "left" in motors
    ? wheels(online ? motors : { left: 0, right: 0 }) : "—";
  $("status-action").textContent = (online && status.action) || "—";
  renderDriver(status && online ? status.driver : null, driver, viewer);
  $("status-seen").textContent = status && status.t_ms ? ago(status.t_ms) : "—";
  renderLink(viewer);
  // A robot known to be offline cannot be driven; commands would only pile up for later.
  const blocked = online === false;
  driver.setEnabled(!blocked);
  $("pad").setAttribute("aria-disabled", String(blocked));
  for (const b of document.querySelectorAll(".dir")) {
    b.setAttribute("aria-disabled", String(blocked));
  }
}

function renderDriver(lease, driver, viewer) {
  const me = viewer.clientId;
  const holder = lease ? lease.client : null;
  const was = state.driverClient;
  state.driverClient = holder;
  const name = lease ? (lease.user && lease.user !== lease.client
    ? `${lease.user} (${lease.client})` : lease.client) : null;
  $("status-driver").textContent = !lease ? "nobody" : holder === me ? "you" : name;
  $("status-driver").dataset.holder = !lease ? "none" : holder === me ? "me" : "other";
  $("take-over").hidden = !lease || holder === me;
  if (was === me && holder && holder !== me) {
    driver.release(); // our keys no longer drive: do not keep sending
    show(`${name} took over driving.`, "info");
  }
}

async function main() {
  const config = await (await fetch("config.json", { cache: "no-store" })).json();
  const auth = new Auth(config);
  const api = new RobotApi(config.apiBase, auth);
  const select = $("robot");
  for (const name of config.robots) select.add(new Option(name, name));
  state.robot = new URLSearchParams(location.search).get("robot") || config.robots[0];
  select.value = state.robot;

  // The first refusal of a session signs out; later ones (requests already on their way)
  // must not replace the message with a vaguer one or restart anything.
  const expired = (error) => {
    if (!state.signedIn) return;
    auth.storage.removeItem("robot-session");
    showSignIn();
    show(error.message);
  };

  // One POST at a time, the newest waiting: two in flight could reach the API in either
  // order, and a repeat overtaking the stop would drive on after release (until the deadman).
  const http = { busy: false, next: null };
  const postInOrder = (robot, body) => new Promise((resolve, reject) => {
    if (http.next) http.next.resolve(); // superseded before it left
    http.next = { robot, body, resolve, reject };
    if (!http.busy) drainPosts();
  });
  const drainPosts = async () => {
    http.busy = true;
    while (http.next) {
      const { robot, body, resolve, reject } = http.next;
      http.next = null;
      const started = performance.now();
      try {
        await api.command(robot, body);
        state.path = "http";
        state.rtt = performance.now() - started;
        renderLink(viewer);
        schedulePoll(AFTER_POST_MS); // the robot has it within milliseconds: look then
        resolve();
      } catch (error) {
        reject(error);
      }
    }
    http.busy = false;
  };

  let viewer = null;
  let takeOver = false;
  const send = async (cmd) => {
    if (!state.signedIn) return;
    const robot = state.robot;
    const body = { ...cmd, client: viewer.clientId };
    if (takeOver) { body.take_over = true; takeOver = false; }
    state.lastSendAt = performance.now();
    schedulePoll();
    // The channel was opened under the session of its video connection: a session since
    // replaced, revoked or expired must go to the API, which checks it.
    const admitted = viewer.admittedAs === sessionKey(auth.session());
    // Only a robot that says it drives from the channel gets commands on it (the KVS C SDK
    // sample accepts data channels but only logs their messages).
    const served = Boolean(state.status && state.status.drive_channel);
    if (admitted && served && viewer.channel && viewer.robot === robot
        && viewer.channel.send(body)) return;
    try {
      await postInOrder(robot, body);
    } catch (error) {
      if (error instanceof SessionExpired) { expired(error); return; }
      if (robot !== state.robot) return; // the last stop to a robot no longer shown
      show(`Command failed: ${error.message}`);
      throw error;
    }
  };
  const driver = new Driver(send, () => Number($("speed").value), (action) => {
    for (const b of document.querySelectorAll(".dir")) {
      b.classList.toggle("active", b.dataset.action === action);
      b.setAttribute("aria-pressed", String(b.dataset.action === action));
    }
  });
  driver.attach($("pad"));
  const joystick = new Joystick($("joystick"), (x, y) => driver.stick(x, y));
  const gamepad = new GamepadInput(driver, (name) => {
    $("gamepad").textContent = `Gamepad: ${name || "none (connect one and press a button)"}`;
  });
  $("speed").addEventListener("input", () => {
    $("speed-value").textContent = Number($("speed").value).toFixed(2);
  });
  $("take-over").addEventListener("click", () => {
    takeOver = true;
    if (driver.active) driver.command(driver.action); else driver.command("stop");
  });

  viewer = new Viewer($("video"), config, auth, (text, live) => {
    $("video-state").textContent = text;
    $("video-state").classList.toggle("live", live);
  }, {
    onOpen: () => renderLink(viewer),
    onState: (status) => {
      if (state.signedIn && viewer.robot === state.robot) {
        renderStatus({ online: true, ...status }, driver, viewer);
      }
    },
    onReply: (reply, rtt) => {
      state.path = "channel";
      if (rtt !== null) state.rtt = rtt;
      const takenOver = $("message").textContent.includes("took over");
      if (reply.reply === "rejected" && reply.reason === "busy") {
        if (!takenOver) show(reply.detail, "info");
      }
      else if (reply.reply === "rejected") show(`Command failed: ${reply.detail}`);
      renderLink(viewer);
    },
    onClose: () => {
      renderLink(viewer);
      // Keep driving without a gap: the command now goes over HTTP at once.
      if (driver.active && state.signedIn) driver.command(driver.action);
    },
  });
  window.robotPage = { config, driver, viewer, state, joystick, gamepad }; // tests, the curious

  let poller = null;
  const poll = async () => {
    if (!state.signedIn) return;
    const robot = state.robot;
    try {
      const status = await api.status(robot);
      if (!state.signedIn || robot !== state.robot) return; // an answer for a past view
      renderStatus(status, driver, viewer);
      if (!state.online) show(`${robot} is offline: it is not connected or not running.`);
      else if ($("message").textContent.includes("offline")) show("");
    } catch (error) {
      if (error instanceof SessionExpired) { expired(error); return; }
      if (!state.signedIn || robot !== state.robot) return;
      if (error instanceof ApiError && error.status === 404) {
        renderStatus(null, driver, viewer);
        show(`Unknown robot: ${error.message}. Pick one from the list.`);
        return;
      }
      show(`Status unavailable: ${error.message}`);
    }
  };
  // While driving without the data channel the readout must keep up: poll fast.
  const pollDelay = () => {
    const channel = viewer.channel && viewer.channel.open;
    const busy = driver.active || performance.now() - state.lastSendAt < SETTLE_MS;
    return busy && !channel ? FAST_POLL_MS : STATUS_EVERY_MS;
  };
  let pollDueAt = 0;
  const schedulePoll = (delay = pollDelay()) => {
    if (!state.signedIn) return;
    const due = performance.now() + delay;
    if (poller !== null && pollDueAt <= due) return; // one sooner is already planned
    clearTimeout(poller);
    pollDueAt = due;
    poller = setTimeout(async () => {
      poller = null;
      await poll();
      schedulePoll();
    }, due - performance.now());
  };

  function showSignIn() {
    state.signedIn = false;
    clearTimeout(poller);
    poller = null;
    viewer.stop();
    gamepad.stop();
    driver.setEnabled(false);
    $("console").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    $("token-form").hidden = !auth.local;
    $("hosted-ui").hidden = auth.local;
  }

  async function showConsole() {
    state.signedIn = true;
    state.shownMs = 0;
    $("sign-in").hidden = true;
    $("console").hidden = false;
    $("sign-out").hidden = false;
    show("");
    driver.setEnabled(true);
    await poll();
    if (!state.signedIn) return; // the first status call found the session expired
    clearTimeout(poller);
    poller = null;
    schedulePoll();
    viewer.start(state.robot);
    gamepad.start();
  }

  select.addEventListener("change", () => {
    driver.release();
    state.robot = select.value;
    showConsole();
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    auth.signInLocal($("token").value);
    showConsole();
  });
  $("hosted-ui").addEventListener("click", () => auth.signInHosted());
  $("sign-out").addEventListener("click", () => {
    driver.release();
    viewer.stop();
    auth.signOut();
    showSignIn();
  });

  try {
    await auth.completeHosted();
    if (auth.session()) await showConsole();
    else showSignIn();
  } catch (error) {
    showSignIn();
    show(error.message);
  }
}

main().catch((error) => show(`The page could not start: ${error.message}`));
