// Press-and-hold driving. While a direction is held, the same command is sent every
// REPEAT_MS with a short duration_ms, so the robot stops by itself DURATION_MS after the
// last command arrives: releasing the button, closing the tab, losing the network or the
// page going to the background all stop it. Release also sends an explicit stop.

export const REPEAT_MS = 150;
export const DURATION_MS = 300;

const KEYS = {
  ArrowUp: "forward", w: "forward", W: "forward",
  ArrowDown: "backward", s: "backward", S: "backward",
  ArrowLeft: "left", a: "left", A: "left",
  ArrowRight: "right", d: "right", D: "right",
};

export class Driver {
  /**
   * @param {(cmd: {action: string, speed: number, duration_ms: number}) => Promise<void>} send
   * @param {() => number} speed  current speed, 0..1
   * @param {(action: string|null) => void} onActive  which direction is held (for the UI)
   */
  constructor(send, speed, onActive = () => {}) {
    this.send = send;
    this.speed = speed;
    this.onActive = onActive;
    this.action = null;
    this.timer = null;
    this.enabled = true;
  }

  command(action) {
    const cmd = { action, speed: this.speed(), duration_ms: DURATION_MS };
    return this.send(cmd).catch(() => {}); // the sender reports failures itself
  }

  press(action) {
    if (!this.enabled) return;
    if (action === "stop") { this.release(); return; }
    if (this.action === action) return;
    clearInterval(this.timer);
    this.action = action;
    this.onActive(action);
    this.command(action);
    this.timer = setInterval(() => this.command(action), REPEAT_MS);
  }

  release() {
    const wasMoving = this.action !== null;
    clearInterval(this.timer);
    this.timer = null;
    this.action = null;
    this.onActive(null);
    if (wasMoving || this.enabled) this.command("stop");
  }

  setEnabled(enabled) {
    this.enabled = enabled;
    if (!enabled && this.action) this.release();
  }

  /**
   * Wire on-screen buttons (mouse, pen and touch through pointer events; Enter on a focused
   * button) and the keyboard (arrows/WASD anywhere on the page, Space stops).
   */
  attach(pad, doc = document) {
    for (const button of pad.querySelectorAll("[data-action]")) {
      const action = button.dataset.action;
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
