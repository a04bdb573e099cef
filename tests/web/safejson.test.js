// The page's JSON guard (cloud/web/safejson.js) on the cases the Python guard answers too
// (testing/data/cases/json_guard.json).
import assert from "node:assert/strict";
import { test } from "node:test";

import { parse } from "../../cloud/web/safejson.js";
import { cases } from "./cases.js";

const guard = cases("json_guard.json");

for (const c of guard.cases) {
  test(`JSON guard: ${c.id}`, () => {
    const found = parse(c.text, c.max_bytes, c.max_depth);
    if (c.expect === "refused") assert.equal(found, null);
    else assert.deepEqual(found, c.expect.value);
  });
}

for (const c of guard.diverging) {
  test(`JSON guard, where the page answers otherwise: ${c.id} (${c.why})`, () => {
    const found = parse(c.text, c.max_bytes, c.max_depth);
    assert.equal(found === null ? "refused" : "accepted", c.answers.page);
  });
}
