// The control page: sign-in, robot status, live video and driving, wired together.

import { RobotApi } from "./api.js";
import { Auth, SessionExpired } from "./auth.js";
import { Driver } from "./drive.js";
import { Viewer } from "./video.js";

const $ = (id) => document.getElementById(id);
const STATUS_EVERY_MS = 2000;
const state = { robot: null, online: null };

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

function renderStatus(status) {
  const online = Boolean(status && status.online);
  state.online = online;
  $("status").dataset.online = String(online);
  $("status-online").textContent = status === null ? "offline (never reported)"
    : online ? "online" : "offline";
  const cam = status && status.camera;
  $("status-camera").textContent = cam
    ? `${cam.state}${cam.viewers ? ` · ${cam.viewers} watching` : ""}` : "—";
  const motors = status && status.motors;
  $("status-motors").textContent = motors && "left" in motors
    ? `L ${Number(motors.left).toFixed(2)} · R ${Number(motors.right).toFixed(2)}` : "—";
  $("status-seen").textContent = status && status.t_ms ? ago(status.t_ms) : "—";
  $("pad").setAttribute("aria-disabled", String(!online));
}

async function main() {
  const config = await (await fetch("config.json", { cache: "no-store" })).json();
  const auth = new Auth(config);
  const api = new RobotApi(config.apiBase, auth);
  const select = $("robot");
  for (const name of config.robots) select.add(new Option(name, name));
  state.robot = new URLSearchParams(location.search).get("robot") || config.robots[0];
  select.value = state.robot;

  const expired = (error) => {
    auth.storage.removeItem("robot-session");
    viewer.stop();
    driver.setEnabled(false);
    showSignIn();
    show(error.message);
  };

  const send = async (cmd) => {
    try {
      await api.command(state.robot, cmd);
    } catch (error) {
      if (error instanceof SessionExpired) { expired(error); return; }
      show(`Command failed: ${error.message}`);
      throw error;
    }
  };
  const driver = new Driver(send, () => Number($("speed").value), (action) => {
    for (const b of document.querySelectorAll(".dir")) {
      b.classList.toggle("active", b.dataset.action === action);
    }
  });
  driver.attach($("pad"));
  $("speed").addEventListener("input", () => {
    $("speed-value").textContent = Number($("speed").value).toFixed(2);
  });

  const viewer = new Viewer($("video"), config, auth, (text, live) => {
    $("video-state").textContent = text;
    $("video-state").classList.toggle("live", live);
  });
  window.robotPage = { config, driver, viewer, state }; // for tests and the curious

  let poller = null;
  const poll = async () => {
    try {
      const status = await api.status(state.robot);
      renderStatus(status);
      if (!state.online) show(`${state.robot} is offline: it is not connected or not running.`);
      else if ($("message").textContent.includes("offline")) show("");
    } catch (error) {
      if (error instanceof SessionExpired) { expired(error); return; }
      show(`Status unavailable: ${error.message}`);
    }
  };

  function showSignIn() {
    clearInterval(poller);
    $("console").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    $("token-form").hidden = !auth.local;
    $("hosted-ui").hidden = auth.local;
  }

  async function showConsole() {
    $("sign-in").hidden = true;
    $("console").hidden = false;
    $("sign-out").hidden = false;
    show("");
    driver.setEnabled(true);
    await poll();
    clearInterval(poller);
    poller = setInterval(poll, STATUS_EVERY_MS);
    viewer.start(state.robot);
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
