// The shared case files under testing/data/cases/, which the Python tests read too.
import { readFileSync } from "node:fs";

/** @param {string} name */
export const cases = (name) => JSON.parse(readFileSync(
  new URL(`../../testing/data/cases/${name}`, import.meta.url), "utf8"));
