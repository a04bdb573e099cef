// @ts-check
// The status panel and the message slot: what status.js and lease.js decided, put on screen.

import { $ } from "./dom.js";

/** @param {import("./banner.js").Message|null} message */
export function showMessage(message) {
  const box = $("message");
  box.textContent = message ? message.text : "";
  box.className = `message ${message ? message.tone : ""}`;
  box.hidden = !message;
  box.dataset.kind = message ? message.kind : "";
}

/**
 * @param {ReturnType<typeof import("./status.js").describe>} view
 * @param {{holder: import("./lease.js").Holder, label: string}} lease
 */
export function showStatus(view, lease) {
  $("status").dataset.online = String(view.online);
  $("status-online").textContent = view.onlineText;
  $("status-camera").textContent = view.camera;
  $("status-motors").textContent = view.motors;
  $("status-action").textContent = view.action;
  $("status-seen").textContent = view.seen;
  $("status-driver").textContent = lease.label;
  $("status-driver").dataset.holder = lease.holder;
  $("take-over").hidden = lease.holder === "none" || lease.holder === "me";
  $("status-line").textContent = [view.onlineText, view.motors === "—" ? null : view.motors,
    lease.holder === "none" ? null : `driver: ${lease.label}`].filter(Boolean).join(" · ");
  // A robot known to be offline cannot be driven; commands would only pile up for later.
  const blocked = view.online === false;
  $("pad").setAttribute("aria-disabled", String(blocked));
  for (const b of document.querySelectorAll(".dir")) b.setAttribute("aria-disabled", String(blocked));
  return !blocked;
}

/**
 * @param {boolean} channelOpen
 * @param {boolean} connecting  a channel exists but is not open yet
 * @param {number|null} rtt
 * @param {"channel"|"http"|null} path
 */
export function showLink(channelOpen, connecting, rtt, path) {
  $("status-link").textContent = channelOpen ? "peer to peer (video data channel)"
    : "HTTP (API)" + (connecting ? " · data channel connecting" : "");
  $("status-link").dataset.path = channelOpen ? "channel" : "http";
  $("status-rtt").textContent = rtt === null ? "—"
    : `${Math.round(rtt)} ms (${path === "channel" ? "data channel" : "HTTP"})`;
}

/** Who the page is signed in as, in the header. @param {string|null} who */
export function showWho(who) {
  $("who").textContent = who ? `Signed in as ${who}` : "";
  $("who").hidden = !who;
}
