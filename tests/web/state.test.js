// The page's state machines: which message is still true (banner.js), who drives (lease.js),
// this browser's tabs (tabs.js), which status is shown and how old it is (status.js), and when
// the status is read (poll.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Banner } from "../../cloud/web/banner.js";
import { driverView, leaseChange } from "../../cloud/web/lease.js";
import { DRIVING_POLL_MS, IDLE_MAX_MS, IDLE_MIN_MS, SETTLE_MS, pollDelay, sameness } from "../../cloud/web/poll.js";
import { HOLD_MS, StatusFeed, describe } from "../../cloud/web/status.js";
import { FORGET_MS, updateTabs } from "../../cloud/web/tabs.js";

test("the banner shows the most important message that is still true", () => {
  const shown = [];
  const banner = new Banner((m) => shown.push(m && m.text));
  banner.set("lease", "sam is driving; take over, or wait.", "info");
  banner.set("offline", "sts-pi is offline");
  assert.equal(shown.at(-1), "sts-pi is offline");
  banner.clear("offline"); // back online: the lease message is true again
  assert.equal(shown.at(-1), "sam is driving; take over, or wait.");
  banner.clear("lease"); // the lease ended
  assert.equal(shown.at(-1), null);
  banner.set("unreachable", "Status unavailable: The API cannot be reached.");
  banner.set("session", "That token was refused");
  banner.reset();
  assert.equal(banner.shown, null);
  const count = shown.length;
  banner.clear("command"); // nothing changes: nothing is drawn again
  assert.equal(shown.length, count);
});

const me = { client: "viewer-me", user: null, tabs: new Set(["viewer-tab2"]) };

test("the driver is named: you, you (other tab), a name, a user, an id", () => {
  assert.deepEqual(driverView(null, me), { holder: "none", label: "nobody" });
  assert.deepEqual(driverView({ client: "viewer-me" }, me), { holder: "me", label: "you" });
  assert.deepEqual(driverView({ client: "viewer-tab2", user: "local" }, me),
    { holder: "mine", label: "you (other tab)" });
  assert.equal(driverView({ client: "viewer-x", user: "alice", name: "Alice" }, me).label, "Alice");
  assert.equal(driverView({ client: "viewer-x", user: "alice" }, me).label, "alice");
  assert.equal(driverView({ client: "viewer-x" }, me).label, "viewer-x");
  // the robot names a channel's driver by its id; a local page carries its nickname there
  assert.equal(driverView({ client: "Sam.k3x9a0b1", name: "Sam.k3x9a0b1" }, me).label, "Sam");
  assert.equal(driverView({ client: "viewer-x", user: null, name: "viewer-x" }, me).label, "viewer-x");
  const signedIn = { client: "viewer-a", user: "alice", tabs: new Set() };
  assert.equal(driverView({ client: "viewer-b", user: "alice" }, signedIn).label, "you (other tab)");
  assert.equal(driverView({ client: "viewer-b", user: "bob" }, signedIn).holder, "other");
});

test("a lease taken from this page is told once; a lease that is ours or free clears the message", () => {
  assert.equal(leaseChange("me", "other"), "took-over");
  assert.equal(leaseChange("me", "mine"), "took-over");
  assert.equal(leaseChange("other", "other"), "keep");
  assert.equal(leaseChange("other", "me"), "clear"); // after Take over: no "... is driving"
  assert.equal(leaseChange("other", "none"), "clear");
  assert.equal(leaseChange("me", "none"), "clear"); // our lease lapsed: nobody took it
  assert.equal(leaseChange(null, "other"), "keep");
});

test("this browser's tabs: added, removed, stale ones forgotten, junk ignored", () => {
  const now = 1_000_000_000;
  let tabs = updateTabs(null, "a", now, now);
  tabs = updateTabs(tabs, "b", now, now);
  assert.deepEqual(Object.keys(tabs).sort(), ["a", "b"]);
  tabs = updateTabs(tabs, "a", null, now);
  assert.deepEqual(Object.keys(tabs), ["b"]);
  assert.deepEqual(updateTabs({ old: now - FORGET_MS - 1, x: "junk" }, "c", now, now), { c: now });
  assert.deepEqual(updateTabs([1, 2], "c", now, now), { c: now });
});

test("an older status never replaces a newer one, and a future-dated one cannot freeze the readout", () => {
  const feed = new StatusFeed();
  const wall = 1_700_000_000_000;
  assert.ok(feed.accept({ online: true, t_ms: wall }, 0, wall));
  assert.ok(!feed.accept({ online: true, t_ms: wall - 50 }, 10, wall + 10)); // the other path, late
  assert.ok(feed.accept({ online: true, t_ms: wall + 100 }, 100, wall + 100));
  // a clock that jumped years ahead, once: the next status is shown at once
  assert.ok(feed.accept({ online: true, t_ms: wall + 3e11 }, 200, wall + 200));
  assert.ok(feed.accept({ online: true, t_ms: wall + 300 }, 300, wall + 300));
  // a robot clock a little ahead still orders the two paths, for HOLD_MS at most
  assert.ok(feed.accept({ online: true, t_ms: wall + 4000 }, 400, wall + 400));
  assert.ok(!feed.accept({ online: true, t_ms: wall + 3900 }, 500, wall + 500));
  assert.ok(feed.accept({ online: true, t_ms: wall + 3950 }, 400 + HOLD_MS, wall + 1400));
  assert.ok(feed.accept({ online: false }, 1401, wall + 1401)); // offline is always news
});

test("the age keeps counting while nothing arrives; a future date counts as new", () => {
  const feed = new StatusFeed();
  assert.equal(feed.age(0), null);
  feed.accept({ online: true, t_ms: 10_000 }, 0, 14_000); // already 4 s old on arrival
  assert.equal(feed.age(0), 4000);
  assert.equal(feed.age(30_000), 34_000);
  assert.ok(!feed.silent({ heartbeat_s: 5 })); // within three heartbeats
  assert.ok(feed.silent({ heartbeat_s: 1 }));
  feed.accept({ online: true, t_ms: 99_000 }, 31_000, 40_000);
  assert.equal(feed.age(31_500), 500);
  feed.accept({ online: true, t_ms: 0 }, 40_000, 60_000); // a robot silent for a minute
  assert.ok(feed.silent({}));
});

test("describe: online, offline, never reported, unknown, and no longer known", () => {
  const status = { online: true, motors: { left: 0.5, right: 0.5 }, action: "forward",
                   camera: { state: "streaming", viewers: 2 }, driver: { client: "x" } };
  const live = describe(status, 1000);
  assert.deepEqual([live.online, live.onlineText, live.motors, live.seen, live.camera],
    [true, "online", "L 0.50 · R 0.50", "1 s ago", "streaming · 2 watching"]);
  assert.deepEqual(live.lease, { client: "x" });
  const stale = describe(status, 25_000, true);
  assert.equal(stale.online, "stale");
  assert.equal(stale.onlineText, "not heard from for 25 s");
  assert.equal(stale.seen, "25 s ago");
  assert.equal(stale.motors, "—"); // not known, rather than frozen at the last value
  assert.equal(stale.lease, null);
  assert.equal(describe({ online: false, motors: { left: 1, right: 1 } }, null).motors,
    "L 0.00 · R 0.00");
  assert.equal(describe({ online: false, reported: false }, null).onlineText,
    "offline (never reported)");
  assert.equal(describe(null, null).online, "unknown");
});

const idle = { visible: true, channelState: false, driving: false, sinceCommandMs: 1e9, unchanged: 0 };

test("status reads: none hidden or with the channel; 1 s driving and just after; 2 s doubling to 60 s idle", () => {
  assert.equal(pollDelay({ ...idle, visible: false }), null);
  assert.equal(pollDelay({ ...idle, channelState: true, driving: true }), null);
  assert.equal(pollDelay({ ...idle, driving: true }), DRIVING_POLL_MS);
  assert.equal(pollDelay({ ...idle, sinceCommandMs: SETTLE_MS - 1 }), DRIVING_POLL_MS);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 9].map((unchanged) => pollDelay({ ...idle, unchanged })),
    [2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.deepEqual([DRIVING_POLL_MS, SETTLE_MS, IDLE_MIN_MS, IDLE_MAX_MS], [1000, 1000, 2000, 60000]);
});

test("an answer that differs only in its times is unchanged", () => {
  const a = { online: true, motors: { left: 0, right: 0, t_ms: 5 }, t_ms: 10 };
  assert.equal(sameness(a), sameness({ ...a, motors: { ...a.motors, t_ms: 9 }, t_ms: 99 }));
  assert.notEqual(sameness(a), sameness({ ...a, motors: { left: 0.5, right: 0, t_ms: 5 } }));
});
