// The page's chart rules (cloud/web/mars-chart.js) on the cases the PyPortal's chart.py
// answers too (testing/data/cases/chart.json), and the page's own geometry.
import assert from "node:assert/strict";
import { test } from "node:test";

import { chartModel, inUnit, runs, temperatureRange, ticks } from "../../cloud/web/mars-chart.js";
import { solAge, temperature } from "../../cloud/web/mars-words.js";
import { cases } from "./cases.js";

const chart = cases("chart.json");
const point = ([sol, low, high, pressure]) => ({ sol, low, high, pressure });

for (const c of chart.runs) {
  test(`chart runs: ${c.id}`, () => {
    const spans = runs(c.points.map(point), c.field).map((r) => [r[0].sol, r[r.length - 1].sol]);
    assert.deepEqual(spans, c.expect);
  });
}

for (const c of chart.temperature_range) {
  test(`chart temperature range: ${c.id}`, () => {
    const values = c.points.flatMap(([, low, high]) => [low, high]).filter((v) => v !== null);
    assert.deepEqual(temperatureRange(values, c.step), c.expect);
  });
}

for (const c of chart.ticks) {
  test(`chart grid lines: ${c.id}`, () => assert.deepEqual(ticks(c.low, c.high), c.expect));
}

const series = { source: "REMS", sols: [
  { sol: 100, min_temp_c: -71, max_temp_c: -5, pressure_pa: 777 },
  { sol: 101, min_temp_c: -80, max_temp_c: 0, pressure_pa: 780 },
  { sol: 103, min_temp_c: -75, max_temp_c: null, pressure_pa: null },
] };

test("grid lines in °F are round °F numbers, not converted °C ones", () => {
  const f = chartModel(series, 560, 240, "F");
  assert.deepEqual(f.ticks.map((t) => t.t), [-120, -80, -40, 0, 40].filter((t) => t >= f.low));
  for (const t of f.ticks) assert.equal(Math.abs(t.t % 10), 0);
  assert.deepEqual([f.low, f.high], [-120, 40]); // -112 °F .. 32 °F in whole tens
  const c = chartModel(series, 560, 240, "C");
  assert.deepEqual(c.ticks.map((t) => t.t), [-80, -60, -40, -20, 0]);
});

test("points sit where their sol and temperature put them, in either unit", () => {
  for (const unit of ["C", "F"]) {
    const m = chartModel(series, 560, 240, unit);
    const [first, last] = [m.x(100), m.x(103)];
    assert.equal(m.max[0][0][0], first);
    assert.equal(m.min[1][0][0], last); // sol 103 starts a new run: 102 is missing
    assert.equal(m.max[0][1][1], m.y(inUnit(0, unit)));
    assert.ok(m.y(m.high) < m.y(m.low)); // warmer is higher
  }
  assert.equal(chartModel({ source: "x", sols: [] }, 560, 240), null);
});

test("a report's sol is shown with its age at the rover's sol now", () => {
  assert.equal(solAge(4995, 5093), "98 sols ago");
  assert.equal(solAge(4995, 4996), "1 sol ago");
  assert.equal(solAge(4995, 4995), "today");
  assert.equal(solAge(4995, 4990), ""); // a report from the future says nothing of its age
  assert.equal(temperature(-40, "F"), "-40 °F");
  assert.equal(temperature(-5, "F"), "23 °F");
  assert.equal(temperature(null, "C"), "—");
});
