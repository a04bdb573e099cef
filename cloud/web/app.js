// @ts-check
// The control page: sign-in, robot status, live video and driving, wired together. Each
// concern has its module: commands.js (which path a command takes), status.js (which status
// to show and how old it is), lease.js (who drives), banner.js (which message is still true),
// poll.js (when to read the status), panel.js (putting it on screen).

import { ApiError, RobotApi } from "./api.js";
import { Auth, SessionExpired } from "./auth.js";
import { Banner } from "./banner.js";
import { CommandLink } from "./commands.js";
import { $, $input } from "./dom.js";
import { Driver } from "./drive.js";
import { GamepadInput } from "./gamepad.js";
import { Joystick } from "./joystick.js";
import { driverView, leaseChange } from "./lease.js";
import { showLink, showMessage, showStatus, showWho } from "./panel.js";
import { Poller, pollDelay, sameness } from "./poll.js";
import { StatusFeed, describe } from "./status.js";
import { Tabs } from "./tabs.js";
import { Viewer } from "./video.js";

const AGE_TICK_MS = 1000; // "last report" keeps counting between statuses

/** @typedef {import("./status.js").Status} Status */

class ControlPage {
  /**
   * @param {import("./auth.js").PageConfig} config
   * @param {Auth} auth
   */
  constructor(config, auth) {
    this.config = config;
    this.auth = auth;
    this.api = new RobotApi(config.apiBase, auth);
    this.banner = new Banner(showMessage);
    this.feed = new StatusFeed();
    /** @type {{robot: string, signedIn: boolean, status: Status|null, rtt: number|null,
     *          path: "channel"|"http"|null, holder: import("./lease.js").Holder|null,
     *          driverLabel: string}} */
    this.state = { robot: config.robots[0], signedIn: false, status: null, rtt: null,
                   path: null, holder: null, driverLabel: "nobody" };
    this.takeOver = false;
    this.takenFrom = false; // someone took the lease from this page; it has not driven since
    this.driver = new Driver((cmd) => this.send(cmd), () => Number($input("speed").value),
      (action) => this.showHeld(action));
    this.viewer = new Viewer(/** @type {HTMLVideoElement} */ ($("video")), config, auth,
      (text, live) => {
        $("video-state").textContent = text;
        $("video-state").classList.toggle("live", live);
      }, {
        onOpen: () => this.renderLink(),
        onState: (/** @type {Status} */ status) => {
          if (!this.state.signedIn || this.viewer.robot !== this.state.robot) return;
          const first = !this.viewer.channelState;
          this.viewer.channelState = true;
          this.receive({ online: true, ...status });
          if (first) this.poller.replan(); // reads stop while the channel brings the state
        },
        onReply: (/** @type {any} */ reply, /** @type {number|null} */ rtt) => this.reply(reply, rtt),
        onClose: () => {
          this.renderLink();
          this.poller.replan();
          // Keep driving without a gap: the command now goes over HTTP at once.
          if (this.driver.action && this.state.signedIn) this.driver.command(this.driver.action);
        },
      });
    this.tabs = new Tabs(this.viewer.clientId);
    this.link = new CommandLink(this.api, this.viewer,
      () => Boolean(this.state.status && this.state.status.drive_channel),
      (rtt) => { this.state.path = "http"; this.state.rtt = rtt; this.renderLink(); });
    this.lastSendAt = -Infinity;
    this.unchanged = 0; // status answers in a row that changed nothing (the poll backs off)
    this.readFailed = false; // the last status read failed: what is shown may be out of date
    this.lastAnswer = "";
    this.poller = new Poller(() => this.poll(), () => pollDelay({
      visible: document.visibilityState === "visible", channelState: this.channelLive(),
      driving: this.driver.active, sinceCommandMs: performance.now() - this.lastSendAt,
      unchanged: this.unchanged,
    }));
    this.joystick = new Joystick($("joystick"), (x, y) => this.driver.stick(x, y));
    this.gamepad = new GamepadInput(this.driver, (name) => {
      $("gamepad").textContent = `Gamepad: ${name || "none (connect one and press a button)"}`;
    });
    setInterval(() => { if (this.state.signedIn) this.render(); }, AGE_TICK_MS);
  }

  // -- commands ---------------------------------------------------------------------------

  /** @param {object} cmd */
  async send(cmd) {
    if (!this.state.signedIn) return;
    const robot = this.state.robot;
    /** @type {Record<string, unknown>} */
    const body = { ...cmd, client: this.viewer.clientId };
    if (this.takeOver) { body.take_over = true; this.takeOver = false; }
    this.lastSendAt = performance.now();
    this.unchanged = 0;
    if (cmd && /** @type {{action?: string}} */ (cmd).action !== "stop") this.takenFrom = false;
    this.poller.replan();
    try {
      if (!await this.link.send(robot, body)) this.banner.clear("command");
    } catch (error) {
      if (error instanceof SessionExpired) { this.expired(error); return; }
      if (robot !== this.state.robot) return; // the last stop to a robot no longer shown
      this.banner.set("command", `Command failed: ${message(error)}`);
      throw error;
    }
  }

  /** A drive channel reply. @param {{reply: string, reason?: string, detail?: string}} reply
   * @param {number|null} rtt */
  reply(reply, rtt) {
    this.state.path = "channel";
    if (rtt !== null) this.state.rtt = rtt;
    if (reply.reply === "applied") this.banner.clear("command");
    else if (reply.reason === "busy") {
      // refusals of commands sent before a take-over must not hide who took over
      if (this.state.holder !== "me" && !this.takenFrom) {
        const who = this.state.holder && this.state.holder !== "none" ? this.state.driverLabel
          : "someone else";
        this.banner.set("lease", `${who} is driving; take over, or wait.`, "info");
      }
    } else this.banner.set("command", `Command failed: ${reply.detail || reply.reason}`);
    this.renderLink();
  }

  /** @param {string|null} action */
  showHeld(action) {
    for (const b of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(".dir"))) {
      b.classList.toggle("active", b.dataset.action === action);
      b.setAttribute("aria-pressed", String(b.dataset.action === action));
    }
    this.poller.replan();
  }

  // -- status -----------------------------------------------------------------------------

  async poll() {
    if (!this.state.signedIn) return;
    const robot = this.state.robot;
    try {
      const status = await this.api.status(robot);
      if (!this.state.signedIn || robot !== this.state.robot) return; // a past view's answer
      const answer = sameness(status);
      this.unchanged = answer === this.lastAnswer ? this.unchanged + 1 : 0;
      this.lastAnswer = answer;
      this.readFailed = false;
      this.banner.clear("unreachable", "robot");
      this.receive(status);
    } catch (error) {
      if (error instanceof SessionExpired) { this.expired(error); return; }
      if (!this.state.signedIn || robot !== this.state.robot) return;
      if (error instanceof ApiError && error.status === 404) {
        this.feed.forget();
        this.state.status = null;
        this.render();
        this.banner.set("robot", `Unknown robot: ${error.message}. Pick one from the list.`);
        return;
      }
      this.readFailed = true;
      this.render();
      this.banner.set("unreachable", `Status unavailable: ${message(error)}`);
    }
  }

  /** A status from either path. @param {Status} status */
  receive(status) {
    if (!this.feed.accept(status, performance.now(), Date.now())) return;
    this.state.status = status;
    this.render();
  }

  /** The data channel is open and brings the robot's state (no reads needed meanwhile). */
  channelLive() {
    const channel = this.viewer.channel;
    return Boolean(this.viewer.channelState && channel && channel.open
                   && this.viewer.robot === this.state.robot);
  }

  render() {
    const status = this.state.status;
    // An open channel is the robot's own connection: it is there, however quiet. Otherwise a
    // status that was old on arrival, or a read that failed since, is no longer "online".
    const stale = !this.channelLive() && (this.feed.silent(status) || this.readFailed);
    const view = describe(status, this.feed.age(performance.now()), stale);
    // Locally every page signs in with the one token (user "local"): only the name a page
    // carries in its id tells people apart there.
    const held = view.lease && this.auth.local
      ? { client: view.lease.client, user: null, name: null } : view.lease;
    const lease = driverView(held, { client: this.viewer.clientId,
      user: this.auth.whoAmI().user, tabs: this.tabs.others() });
    const change = leaseChange(this.state.holder, lease.holder);
    this.state.holder = lease.holder;
    this.state.driverLabel = lease.label;
    if (change === "took-over") {
      this.driver.release(); // our keys no longer drive: do not keep sending
      this.takenFrom = true;
      this.banner.set("lease", `${lease.label} took over driving.`, "info");
    } else if (change === "clear") {
      this.takenFrom = false;
      this.banner.clear("lease");
    }
    if (view.online === false) {
      this.banner.set("offline", `${this.state.robot} is offline: it is not connected or not running.`);
    } else if (view.online === true) this.banner.clear("offline");
    this.driver.setEnabled(showStatus(view, lease));
    this.renderLink();
  }

  renderLink() {
    const channel = this.viewer.channel;
    showLink(Boolean(channel && channel.open), Boolean(channel), this.state.rtt, this.state.path);
  }

  // -- session ----------------------------------------------------------------------------

  /** The first refusal of a session signs out; later ones (requests already on their way)
   * must not replace the message with a vaguer one or restart anything.
   * @param {SessionExpired} error */
  expired(error) {
    if (!this.state.signedIn) return;
    this.showSignIn();
    this.banner.reset();
    this.banner.set("session", error.message);
  }

  showSignIn() {
    this.state.signedIn = false;
    this.poller.stop();
    this.viewer.stop();
    this.gamepad.stop();
    this.driver.setEnabled(false);
    this.tabs.write(null);
    $("console").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    $("token-form").hidden = !this.auth.local;
    $("hosted-ui").hidden = this.auth.local;
    $input("nickname").value = this.auth.nickname() || "";
    showWho(null);
  }

  async showConsole() {
    this.state.signedIn = true;
    this.readFailed = false;
    this.unchanged = 0;
    this.feed.forget();
    this.state.status = null;
    this.state.holder = null;
    $("sign-in").hidden = true;
    $("console").hidden = false;
    $("sign-out").hidden = false;
    this.banner.reset();
    const who = this.auth.whoAmI();
    showWho(who.name || (this.auth.local ? "the local token" : who.user));
    this.driver.setEnabled(true);
    if (this.auth.local) this.viewer.rename(this.auth.nickname());
    this.tabs = new Tabs(this.viewer.clientId);
    this.tabs.write(Date.now());
    await this.poll();
    if (!this.state.signedIn) return; // the first status call found the session refused
    this.poller.start();
    this.viewer.start(this.state.robot);
    this.gamepad.start();
  }

  // -- wiring -----------------------------------------------------------------------------

  wire() {
    const select = /** @type {HTMLSelectElement} */ ($("robot"));
    for (const name of this.config.robots) select.add(new Option(name, name));
    this.state.robot = new URLSearchParams(location.search).get("robot") || this.config.robots[0];
    select.value = this.state.robot;
    select.addEventListener("change", () => {
      this.driver.release();
      this.state.robot = select.value;
      this.showConsole();
    });
    this.driver.attach($("pad"));
    $input("speed").addEventListener("input", () => {
      $("speed-value").textContent = Number($input("speed").value).toFixed(2);
    });
    $("take-over").addEventListener("click", () => {
      this.takeOver = true;
      this.driver.command(this.driver.action || "stop");
    });
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.auth.signInLocal($input("token").value, $input("nickname").value);
      this.showConsole();
    });
    $("hosted-ui").addEventListener("click", () => this.auth.signInHosted());
    $("sign-out").addEventListener("click", () => {
      this.driver.release();
      this.viewer.stop();
      this.auth.signOut();
      this.showSignIn();
      this.banner.reset();
    });
    document.addEventListener("visibilitychange", () => {
      if (!this.state.signedIn) return;
      if (document.visibilityState === "visible") {
        this.unchanged = 0;
        this.poller.plan(0); // catch up at once
      } else this.poller.replan();
    });
    window.addEventListener("pagehide", () => this.tabs.write(null));
  }

  async begin() {
    this.wire();
    try {
      await this.auth.completeHosted();
      if (this.auth.session()) await this.showConsole();
      else this.showSignIn();
    } catch (error) {
      this.showSignIn();
      this.banner.set("session", message(error));
    }
  }
}

/** @param {unknown} error */
const message = (error) => (error instanceof Error ? error.message : String(error));

async function main() {
  const config = await (await fetch("config.json", { cache: "no-store" })).json();
  const page = new ControlPage(config, new Auth(config));
  // for the browser tests and the curious
  window.robotPage = { config, driver: page.driver, viewer: page.viewer, state: page.state,
                       joystick: page.joystick, gamepad: page.gamepad, banner: page.banner };
  await page.begin();
}

main().catch((error) => showMessage({ kind: "start", tone: "error",
  text: `The page could not start: ${message(error)}` }));
