// @ts-check
// When the page reads GET /robot/{name}/status (each read is an API Gateway request, a Lambda
// call and an IoT GetRetainedMessage). Never while the tab is hidden, nor while the video
// connection's data channel brings the robot's state. Otherwise: every DRIVING_POLL_MS while
// this page drives or within SETTLE_MS of its last command; else every IDLE_MIN_MS, doubling
// after each unchanged answer up to IDLE_MAX_MS, back to the minimum on a change, a command or
// the tab becoming visible. The deploy tool's cost model counts this same schedule.

export const DRIVING_POLL_MS = 1000;
export const SETTLE_MS = 1000;
export const IDLE_MIN_MS = 2000;
export const IDLE_MAX_MS = 60000;

/**
 * @param {{visible: boolean, channelState: boolean, driving: boolean, sinceCommandMs: number,
 *          unchanged: number}} now
 *   visible: the tab can be seen; channelState: the data channel is open and pushes the
 *   robot's state; driving: this page drives; sinceCommandMs: since its last command;
 *   unchanged: answers in a row that changed nothing
 * @returns {number|null}  ms until the next read, null for none
 */
export function pollDelay({ visible, channelState, driving, sinceCommandMs, unchanged }) {
  if (!visible || channelState) return null;
  if (driving || sinceCommandMs < SETTLE_MS) return DRIVING_POLL_MS;
  return Math.min(IDLE_MAX_MS, IDLE_MIN_MS * 2 ** Math.max(0, unchanged));
}

/**
 * What makes two answers the same for the backoff: everything but the times they carry (the
 * robot republishes an unchanged status on its heartbeat).
 * @param {unknown} status
 */
export function sameness(status) {
  return JSON.stringify(status, (key, value) => (key === "t_ms" ? undefined : value));
}

/** Runs `read` on the schedule `delay` gives, one read at a time. */
export class Poller {
  /**
   * @param {() => Promise<void>} read
   * @param {() => number|null} delay
   */
  constructor(read, delay) {
    this.read = read;
    this.delay = delay;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.timer = null;
    this.dueAt = 0;
    this.running = false;
  }

  /** Plan the next read `ms` from now (default: the schedule's), unless one comes sooner. */
  plan(ms = this.delay()) {
    if (!this.running || ms === null) return;
    const due = performance.now() + ms;
    if (this.timer !== null && this.dueAt <= due) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(async () => {
      this.timer = null;
      await this.read();
      this.plan();
    }, ms);
  }

  /** The schedule changed (driving began or ended, the page was shown or hidden). */
  replan() {
    const ms = this.delay();
    if (ms === null) { this.cancel(); return; }
    this.plan(ms);
  }

  start() { this.running = true; this.cancel(); this.plan(); }

  stop() { this.running = false; this.cancel(); }

  cancel() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
