// @ts-check
// Which path a command takes. Over the video connection's drive channel when the robot drives
// from it and the channel speaks for the current session; otherwise POST /robot/{name}/cmd,
// one request at a time with only the newest waiting: two in flight could reach the API in
// either order, and a repeat overtaking the stop would drive on after release (until the
// deadman).

import { sessionKey } from "./video.js";

/**
 * Whether a command may go on the channel.
 * @param {{admitted: boolean, served: boolean, open: boolean, sameRobot: boolean}} c
 *   admitted: the channel was opened under the current session; served: the robot says it
 *   drives from the channel; open: the channel is open; sameRobot: it is the robot shown
 */
export const channelUsable = (c) => c.admitted && c.served && c.open && c.sameRobot;

export class CommandLink {
  /**
   * @param {import("./api.js").RobotApi} api
   * @param {import("./video.js").Viewer} viewer
   * @param {() => boolean} served  the robot's status says it drives from the channel
   * @param {(rttMs: number) => void} onPosted  a POST was taken, after `rttMs`
   */
  constructor(api, viewer, served, onPosted) {
    this.api = api;
    this.viewer = viewer;
    this.served = served;
    this.onPosted = onPosted;
    this.busy = false;
    /** @type {{robot: string, body: object, resolve: () => void, reject: (e: unknown) => void}|null} */
    this.next = null;
  }

  /**
   * Send `body` to `robot`: true when it went on the channel; resolves once the API took it
   * otherwise (or a newer command replaced it before it left).
   * @param {string} robot
   * @param {object} body
   */
  async send(robot, body) {
    const viewer = this.viewer;
    const channel = viewer.channel;
    const usable = channelUsable({
      admitted: viewer.admittedAs === sessionKey(this.api.auth.session()),
      served: this.served(), open: Boolean(channel && channel.open),
      sameRobot: viewer.robot === robot,
    });
    if (usable && channel && channel.send(body)) return true;
    await this.post(robot, body);
    return false;
  }

  /** @param {string} robot @param {object} body @returns {Promise<void>} */
  post(robot, body) {
    return new Promise((resolve, reject) => {
      if (this.next) this.next.resolve(); // superseded before it left
      this.next = { robot, body, resolve, reject };
      if (!this.busy) this.drain();
    });
  }

  async drain() {
    this.busy = true;
    while (this.next) {
      const { robot, body, resolve, reject } = this.next;
      this.next = null;
      const started = performance.now();
      try {
        await this.api.command(robot, body);
        this.onPosted(performance.now() - started);
        resolve();
      } catch (error) {
        reject(error);
      }
    }
    this.busy = false;
  }
}
