// @ts-check
// The `drive` data channel on the video's peer connection: commands go to the robot peer to
// peer, as the same JSON objects as the POST /robot/{name}/cmd body. The robot answers each
// with {"reply": "applied"|"rejected", ...} in order (so the round trip is measured here) and
// pushes {"state": {...}} (its status) on every change.

import { parse } from "./safejson.js";

export const LABEL = "drive";
// Partially reliable: a command the network held back longer than this is dropped rather than
// delivered late (the robot stamps commands on arrival); order is kept, so a stop is never
// overtaken by the command before it.
export const OPTIONS = { ordered: true, maxPacketLifeTime: 250 };
// A channel whose robot has not answered for this long is not trusted with commands (the
// robot's loop stalled, or its camera accepts channels but does not drive from them).
export const STALL_MS = 500;

/**
 * @typedef {object} ChannelEvents
 * @property {(state: any) => void} [onState]  the robot pushed its status
 * @property {(reply: any, rttMs: number|null) => void} [onReply]  the robot answered a command
 * @property {(channel: DriveChannel) => void} [onOpen]
 * @property {(channel: DriveChannel) => void} [onClose]
 */

export class DriveChannel {
  /**
   * @param {RTCPeerConnection} pc  the viewer's peer connection, before its offer
   * @param {ChannelEvents} on
   */
  constructor(pc, on = {}) {
    this.dc = pc.createDataChannel(LABEL, OPTIONS);
    this.on = on;
    /** @type {number[]} send times, answered in order */
    this.pending = [];
    this.dc.onopen = () => this.on.onOpen?.(this);
    // "closing" comes first when either side closes; "close" alone when the transport dies.
    let told = false;
    const closed = () => {
      this.pending = [];
      if (!told) { told = true; this.on.onClose?.(this); }
    };
    this.dc.addEventListener("closing", closed);
    this.dc.onclose = closed;
    this.dc.onmessage = (event) => this.receive(event.data);
  }

  get open() { return this.dc.readyState === "open"; }

  /** Unanswered for STALL_MS: the caller should use HTTP; the next send tries again. */
  get stalled() {
    const oldest = this.pending[0];
    if (oldest === undefined || performance.now() - oldest < STALL_MS) return false;
    this.pending = []; // replies to dropped messages never come: start counting afresh
    return true;
  }

  /** Send a command; false when the channel cannot take it (the caller uses HTTP instead).
   * @param {object} cmd */
  send(cmd) {
    if (!this.open || this.stalled) return false;
    try {
      this.dc.send(JSON.stringify(cmd));
    } catch {
      return false; // closing meanwhile
    }
    this.pending.push(performance.now());
    return true;
  }

  /** @param {unknown} text */
  receive(text) {
    const message = /** @type {any} */ (parse(text, 16384)); // small and flat
    if (!message || typeof message !== "object") return;
    if (message.state) this.on.onState?.(message.state);
    if (message.reply) {
      const sent = this.pending.shift();
      this.on.onReply?.(message, sent === undefined ? null : performance.now() - sent);
    }
  }

  close() { this.dc.close(); }
}
