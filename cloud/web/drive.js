// @ts-check
// Press-and-hold driving. While a direction is held (or the joystick or a gamepad stick is
// off centre), the same command is sent every REPEAT_MS with a short duration_ms, so the robot
// stops by itself DURATION_MS after the last command arrives: releasing, closing the tab,
// losing the network or the page going to the background all stop it. Release also sends an
// explicit stop. Analog input sends {"action": "drive", "left", "right"} wheel speeds, at
// most every ANALOG_MS while it changes.

export const REPEAT_MS = 150;
// A repeat may be 350 ms late (a busy phone, a slow API call) before the robot stops.
export const DURATION_MS = 500;
export const ANALOG_MS = 50;

/** @type {Record<string, string>} */
const KEYS = {
  ArrowUp: "forward", w: "forward", W: "forward",
  ArrowDown: "backward", s: "backward", S: "backward",
  ArrowLeft: "left", a: "left", A: "left",
  ArrowRight: "right", d: "right", D: "right",
};

/**
 * Wheel speeds for a stick at (x right, y forward), both -1..1: arcade mixing, scaled so
 * neither wheel exceeds `top`. Proportional: half the stick is half the speed.
 * @param {number} x
 * @param {number} y
 * @param {number} top
 * @returns {{left: number, right: number}}
 */
export function mix(x, y, top = 1) {
  let left = y + x;
  let right = y - x;
  const most = Math.max(1, Math.abs(left), Math.abs(right));
  const round = (/** @type {number} */ v) => Math.round((v / most) * top * 1000) / 1000 || 0; // no -0
  left = round(left);
  right = round(right);
  return { left, right };
}

export class Driver {
  /**
   * @param {(cmd: object) => Promise<void>} send
   * @param {() => number} speed  current top speed, 0..1
   * @param {(action: string|null) => void} onActive  which direction is held (for the UI)
   */
  constructor(send, speed, onActive = () => {}) {
    this.send = send;
    this.speed = speed;
    this.onActive = onActive;
    /** @type {string|null} "forward"..., "drive" for analog, null when released */
    this.action = null;
    /** @type {{left: number, right: number}|null} while analog input drives */
    this.wheels = null;
    /** @type {ReturnType<typeof setInterval>|undefined} */
    this.timer = undefined;
    this.lastAnalogAt = 0;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.analogTimer = undefined;
    this.enabled = true;
  }

  get active() { return this.action !== null; }

  /** @param {string} action */
  body(action) {
    if (action === "drive" && this.wheels) {
      return { action, left: this.wheels.left, right: this.wheels.right,
               duration_ms: DURATION_MS };
    }
    return { action, speed: this.speed(), duration_ms: DURATION_MS };
  }

  /** @param {string} action */
  command(action) {
    return this.send(this.body(action)).catch(() => {}); // the sender reports failures itself
  }

  /** @param {string} action */
  press(action) {
    if (!this.enabled) return;
    if (action === "stop") { this.release(); return; }
    if (this.action === action) return;
    this.hold(action);
  }

  /** @param {string} action */
  hold(action) {
    clearInterval(this.timer);
    this.action = action;
    this.onActive(action);
    this.command(action);
    this.timer = setInterval(() => { if (this.action) this.command(this.action); }, REPEAT_MS);
  }

  /**
   * Analog input: a stick at (x right, y forward), each -1..1. Centre releases (stop).
   * Keys and buttons take precedence while held.
   * @param {number} x
   * @param {number} y
   */
  stick(x, y) {
    if (!this.enabled || (this.action && this.action !== "drive")) return;
    const wheels = mix(x, y, this.speed());
    if (wheels.left === 0 && wheels.right === 0) {
      if (this.action === "drive") this.release();
      return;
    }
    const changed = !this.wheels || wheels.left !== this.wheels.left
      || wheels.right !== this.wheels.right;
    this.wheels = wheels;
    if (this.action !== "drive") { this.hold("drive"); this.lastAnalogAt = performance.now(); return; }
    if (!changed) return;
    // Send changes at once but no faster than every ANALOG_MS; the last one always goes.
    const wait = this.lastAnalogAt + ANALOG_MS - performance.now();
    clearTimeout(this.analogTimer);
    const go = () => {
      if (this.action !== "drive") return;
      this.lastAnalogAt = performance.now();
      this.command("drive");
    };
    if (wait <= 0) go(); else this.analogTimer = setTimeout(go, wait);
  }

  release() {
    const wasMoving = this.action !== null;
    clearInterval(this.timer);
    clearTimeout(this.analogTimer);
    this.timer = undefined;
    this.action = null;
    this.wheels = null;
    this.onActive(null);
    if (wasMoving || this.enabled) this.command("stop");
  }

  /** @param {boolean} enabled */
  setEnabled(enabled) {
    this.enabled = enabled;
    if (!enabled && this.action) this.release();
  }

  /**
   * Wire on-screen buttons (mouse, pen and touch through pointer events; Enter on a focused
   * button) and the keyboard (arrows/WASD anywhere on the page, Space stops).
   * @param {HTMLElement} pad
   * @param {Document} doc
   */
  attach(pad, doc = document) {
    for (const button of /** @type {NodeListOf<HTMLElement>} */ (pad.querySelectorAll("[data-action]"))) {
      const action = String(button.dataset.action);
      button.addEventListener("pointerdown", (event) => {
        event.preventDefault();
        button.setPointerCapture?.(event.pointerId);
        this.press(action);
      });
      for (const end of ["pointerup", "pointercancel", "lostpointercapture"]) {
        button.addEventListener(end, () => { if (this.action === action) this.release(); });
      }
      button.addEventListener("contextmenu", (event) => event.preventDefault());
      // A focused arrow (reached with Tab) is held with Enter, like a finger on it.
      button.addEventListener("keydown", (event) => {
        if (event.key !== "Enter") return;
        event.preventDefault();
        if (!event.repeat) this.press(action);
      });
      button.addEventListener("keyup", (event) => {
        if (event.key === "Enter" && this.action === action) this.release();
      });
      button.addEventListener("blur", () => { if (this.action === action) this.release(); });
    }
    doc.addEventListener("keydown", (event) => {
      if (event.target instanceof HTMLInputElement && event.target.type !== "range") return;
      if (event.key === " ") { event.preventDefault(); this.release(); return; }
      const action = KEYS[event.key];
      if (!action) return;
      event.preventDefault();
      if (!event.repeat) this.press(action);
    });
    doc.addEventListener("keyup", (event) => {
      if (KEYS[event.key] && KEYS[event.key] === this.action) this.release();
    });
    // Losing the page stops the robot at once rather than after duration_ms.
    const lose = () => { if (this.action) this.release(); };
    window.addEventListener("blur", lose);
    window.addEventListener("pagehide", lose);
    doc.addEventListener("visibilitychange", () => { if (doc.hidden) lose(); });
  }
}
