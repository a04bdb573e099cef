// The control page: sign-in, robot status, live video and driving, wired together.

import { ApiError, RobotApi } from "./api.js";
import { Auth, SessionExpired } from "./auth.js";
import { Driver } from "./drive.js";
import { Viewer } from "./video.js";

const $ = (id) => document.getElementById(id);
const STATUS_EVERY_MS = 2000;
// online: true, false, or null while unknown (e.g. no such robot); signedIn gates every call.
const state = { robot: null, online: null, signedIn: false };

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

/** Show the robot's status; `status` null means "unknown" (the API could not say). */
function renderStatus(status, driver) {
  const online = status === null ? null : Boolean(status.online);
  state.online = online;
  $("status").dataset.online = String(online === null ? "unknown" : online);
  $("status-online").textContent = online === null ? "unknown"
    : online ? "online" : status.reported === false ? "offline (never reported)" : "offline";
  const cam = status && status.camera;
  $("status-camera").textContent = cam
    ? `${cam.state}${cam.viewers ? ` · ${cam.viewers} watching` : ""}` : "—";
  const motors = status && status.motors;
  $("status-motors").textContent = motors && "left" in motors
    ? `L ${Number(motors.left).toFixed(2)} · R ${Number(motors.right).toFixed(2)}` : "—";
  $("status-seen").textContent = status && status.t_ms ? ago(status.t_ms) : "—";
  // A robot known to be offline cannot be driven; commands would only pile up for later.
  const blocked = online === false;
  driver.setEnabled(!blocked);
  $("pad").setAttribute("aria-disabled", String(blocked));
  for (const b of document.querySelectorAll(".dir")) {
    b.setAttribute("aria-disabled", String(blocked));
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

  const send = async (cmd) => {
    if (!state.signedIn) return;
    const robot = state.robot;
    try {
      await api.command(robot, cmd);
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
    if (!state.signedIn) return;
    const robot = state.robot;
    try {
      const status = await api.status(robot);
      if (!state.signedIn || robot !== state.robot) return; // an answer for a past view
      renderStatus(status, driver);
      if (!state.online) show(`${robot} is offline: it is not connected or not running.`);
      else if ($("message").textContent.includes("offline")) show("");
    } catch (error) {
      if (error instanceof SessionExpired) { expired(error); return; }
      if (!state.signedIn || robot !== state.robot) return;
      if (error instanceof ApiError && error.status === 404) {
        renderStatus(null, driver);
        show(`Unknown robot: ${error.message}. Pick one from the list.`);
        return;
      }
      show(`Status unavailable: ${error.message}`);
    }
  };

  function showSignIn() {
    state.signedIn = false;
    clearInterval(poller);
    viewer.stop();
    driver.setEnabled(false);
    $("console").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    $("token-form").hidden = !auth.local;
    $("hosted-ui").hidden = auth.local;
  }

  async function showConsole() {
    state.signedIn = true;
    $("sign-in").hidden = true;
    $("console").hidden = false;
    $("sign-out").hidden = false;
    show("");
    driver.setEnabled(true);
    await poll();
    if (!state.signedIn) return; // the first status call found the session expired
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
