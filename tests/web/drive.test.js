// Driving (cloud/web/drive.js): stick mixing, and press-and-hold as commands over time.
import assert from "node:assert/strict";
import { mock, test } from "node:test";

import { DURATION_MS, Driver, REPEAT_MS, mix } from "../../cloud/web/drive.js";

test("arcade mixing: forward, spin, curve, and never past the top speed", () => {
  assert.deepEqual(mix(0, 1), { left: 1, right: 1 });
  assert.deepEqual(mix(0, 0.5), { left: 0.5, right: 0.5 }); // proportional
  assert.deepEqual(mix(1, 0), { left: 1, right: -1 }); // spin right on the spot
  assert.deepEqual(mix(0, -1, 0.5), { left: -0.5, right: -0.5 });
  assert.deepEqual(mix(1, 1), { left: 1, right: 0 }); // scaled so neither wheel exceeds 1
  assert.deepEqual(mix(0.4, 0.6, 0.5), { left: 0.5, right: 0.1 });
  assert.deepEqual(mix(0, 0), { left: 0, right: 0 });
  assert.ok(!Object.is(mix(0.3, -0.3).right, -0)); // no -0 on the wire
});

function recorder() {
  const sent = [];
  const driver = new Driver(async (cmd) => { sent.push(cmd); }, () => 0.5);
  return { sent, driver };
}

test("holding repeats the command every REPEAT_MS; releasing sends one stop", (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "setTimeout"] });
  const { sent, driver } = recorder();
  driver.press("forward");
  assert.deepEqual(sent, [{ action: "forward", speed: 0.5, duration_ms: DURATION_MS }]);
  t.mock.timers.tick(REPEAT_MS * 3);
  assert.equal(sent.length, 4);
  assert.ok(sent.every((c) => c.action === "forward"));
  assert.ok(DURATION_MS > REPEAT_MS); // each repeat arrives before the last one lapses
  driver.release();
  assert.equal(sent.at(-1).action, "stop");
  t.mock.timers.tick(REPEAT_MS * 3);
  assert.equal(sent.at(-1).action, "stop"); // nothing after the stop
  assert.equal(sent.length, 5);
});

test("a disabled pad sends nothing; disabling while held stops", (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "setTimeout"] });
  const { sent, driver } = recorder();
  driver.press("left");
  driver.setEnabled(false);
  assert.equal(sent.at(-1).action, "stop");
  const before = sent.length;
  driver.press("forward");
  driver.stick(0, 1);
  t.mock.timers.tick(REPEAT_MS * 2);
  assert.equal(sent.length, before);
});

test("the stick drives analog wheel speeds; centring it stops; keys win while held", (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "setTimeout"] });
  const { sent, driver } = recorder();
  driver.stick(0, 1);
  assert.deepEqual(sent[0], { action: "drive", left: 0.5, right: 0.5, duration_ms: DURATION_MS });
  driver.stick(0, 0);
  assert.equal(sent.at(-1).action, "stop");
  driver.press("backward");
  driver.stick(1, 0); // ignored while a key is held
  assert.equal(sent.at(-1).action, "backward");
  mock.reset();
});
