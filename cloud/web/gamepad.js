// @ts-check
// Any standard gamepad (the browser Gamepad API): the left stick drives, B (button 1, the
// right face button) stops. Polled every POLL_MS: pads send no events for stick moves.

export const POLL_MS = 50;
export const DEADZONE = 0.1; // sticks rest a little off centre
export const STOP_BUTTON = 1;

export class GamepadInput {
  /**
   * @param {import("./drive.js").Driver} driver
   * @param {(name: string|null) => void} onPad  the pad in use, for the UI
   */
  constructor(driver, onPad = () => {}) {
    this.driver = driver;
    this.onPad = onPad;
    this.moving = false;
    this.stopped = false; // after the stop button, until the stick comes back to the centre
    /** @type {string|null} */
    this.name = null;
    /** @type {ReturnType<typeof setInterval>|null} */
    this.timer = null;
  }

  start() {
    if (!navigator.getGamepads || this.timer) return;
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  stop() { if (this.timer !== null) clearInterval(this.timer); this.timer = null; }

  poll() {
    const pad = Array.from(navigator.getGamepads() || []).find((p) => p && p.connected);
    const name = pad ? pad.id : null;
    if (name !== this.name) { this.name = name; this.onPad(name); }
    if (!pad) { this.centre(); return; }
    const dead = (/** @type {number} */ v) => (Math.abs(v) < DEADZONE ? 0 : Math.max(-1, Math.min(1, v)));
    const x = dead(pad.axes[0] || 0);
    const y = -dead(pad.axes[1] || 0); // up is negative on a standard pad
    const stop = pad.buttons[STOP_BUTTON] && pad.buttons[STOP_BUTTON].pressed;
    if (stop) {
      if (!this.stopped) { this.stopped = true; this.moving = false; this.driver.release(); }
      return;
    }
    if (x === 0 && y === 0) { this.stopped = false; this.centre(); return; }
    if (this.stopped) return;
    this.moving = true;
    this.driver.stick(x, y);
  }

  centre() {
    if (this.moving) { this.moving = false; this.driver.stick(0, 0); }
  }
}
