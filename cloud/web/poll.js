// @ts-check
// When the page reads GET /robot/{name}/status (each read is an API Gateway request, a Lambda
// call and an IoT GetRetainedMessage): every DRIVING_POLL_MS while the page is visible, someone
// drives and no data channel brings the robot's state; every IDLE_POLL_MS while visible
// otherwise (the channel's pushes carry every change; the read confirms the robot is still
// there); never while the page is hidden. This is the schedule the deploy tool's cost model
// assumes (tools/deploy/README.md).

export const DRIVING_POLL_MS = 2000;
export const IDLE_POLL_MS = 10000;

/**
 * @param {{visible: boolean, driving: boolean, channelState: boolean}} now
 *   visible: the page can be seen; driving: this page drives or the robot reports a driver;
 *   channelState: the data channel is open and pushes the robot's state
 * @returns {number|null}  ms until the next read, null for none
 */
export function pollDelay({ visible, driving, channelState }) {
  if (!visible) return null;
  return driving && !channelState ? DRIVING_POLL_MS : IDLE_POLL_MS;
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
