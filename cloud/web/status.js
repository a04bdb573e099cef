// @ts-check
// The robot's status as the page should show it. It arrives by two paths (pushed on the data
// channel, polled from GET /robot/{name}/status), so an older one must not replace a newer
// one; but the robot's clock is only the robot's word: a status dated well in the future (a
// clock that jumped) never holds back the next one, and any other holds it for HOLD_MS at most. How old the shown
// status is keeps counting while nothing new arrives, so an outage is never a frozen "online".

/**
 * @typedef {object} Status  what GET /robot/{name}/status and the channel's state pushes carry
 * @property {boolean} [online]
 * @property {boolean} [reported]  false: the robot never reported
 * @property {number} [t_ms]  when the robot made it (its clock)
 * @property {{left: number, right: number}} [motors]
 * @property {{state: string, viewers?: number}} [camera]
 * @property {string} [action]
 * @property {import("./lease.js").Lease|null} [driver]
 * @property {boolean} [drive_channel]
 * @property {number} [heartbeat_s]  the robot republishes its status at least this often
 */

export const HOLD_MS = 1000;
/** Further ahead of this page's clock than this, a status's date is no anchor for ordering. */
export const AHEAD_MS = 5000;
/** A status this many of the robot's heartbeats old when it arrived says the robot has stopped
 * reporting (the agent republishes at least once a heartbeat, `heartbeat_s` in its status). */
export const SILENT_HEARTBEATS = 3;
export const DEFAULT_HEARTBEAT_S = 5;

export class StatusFeed {
  constructor() {
    /** @type {{t: number|null, at: number, lagMs: number, anchor: boolean}|null} */
    this.latest = null;
  }

  /**
   * Whether `status`, arriving now, should replace the one shown (and remember it if so).
   * @param {Status} status
   * @param {number} now  the page's monotonic clock (performance.now())
   * @param {number} wall  the page's wall clock (Date.now())
   */
  accept(status, now, wall) {
    const t = typeof status.t_ms === "number" && Number.isFinite(status.t_ms) ? status.t_ms : null;
    const last = this.latest;
    if (status.online && last && last.anchor && last.t !== null && t !== null && t < last.t
        && now - last.at < HOLD_MS) return false;
    // how old it already was on arrival; a date in the future counts as new
    this.latest = { t, at: now, lagMs: t === null ? 0 : Math.max(0, wall - t),
                    anchor: t !== null && t <= wall + AHEAD_MS };
    return true;
  }

  forget() { this.latest = null; }

  /**
   * The shown status was already old when it arrived: the robot has stopped reporting.
   * @param {Status|null} status
   */
  silent(status) {
    const beat = status && typeof status.heartbeat_s === "number" && status.heartbeat_s > 0
      ? status.heartbeat_s : DEFAULT_HEARTBEAT_S;
    return Boolean(this.latest && this.latest.lagMs > SILENT_HEARTBEATS * beat * 1000);
  }

  /** Milliseconds since the robot made the shown status, or null without one. @param {number} now */
  age(now) {
    const last = this.latest;
    return last && last.t !== null ? last.lagMs + Math.max(0, now - last.at) : null;
  }
}

/** @param {number} ms */
export function ago(ms) {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago`
    : `${Math.round(s / 3600)} h ago`;
}

/** @param {{left: number, right: number}} m */
export const wheels = (m) => `L ${Number(m.left).toFixed(2)} · R ${Number(m.right).toFixed(2)}`;

/**
 * The panel's words for a status (null: the API could not say) of age `ageMs`. `stale`: it
 * can no longer be taken as now (the robot stopped reporting, or the API stopped answering).
 * `online` is true, false, "stale" (online when last heard, not since) or "unknown".
 * @param {Status|null} status
 * @param {number|null} ageMs
 * @param {boolean} stale
 */
export function describe(status, ageMs, stale = false) {
  const online = status === null ? "unknown" : !status.online ? false : stale ? "stale" : true;
  const onlineText = online === "unknown" ? "unknown"
    : online === "stale" ? `not heard from for ${ago(ageMs || 0).replace(" ago", "")}`
      : online ? "online"
        : status && status.reported === false ? "offline (never reported)" : "offline";
  const live = online === true;
  const cam = status && status.camera;
  const motors = status && status.motors;
  return {
    online,
    onlineText,
    camera: cam && live ? `${cam.state}${cam.viewers ? ` · ${cam.viewers} watching` : ""}` : "—",
    // Offline, the motors are stopped (the agent stops them when its link drops); unheard
    // from, what they do is not known.
    motors: motors && "left" in motors
      ? (live ? wheels(motors) : online === false ? wheels({ left: 0, right: 0 }) : "—") : "—",
    action: (live && status && status.action) || "—",
    seen: ageMs === null ? "—" : ago(ageMs),
    lease: live && status ? status.driver || null : null,
  };
}
