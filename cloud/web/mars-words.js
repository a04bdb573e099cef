// @ts-check
// The Mars tab's words that are rules: how old a report is, temperatures in the unit chosen.

/**
 * How old a report of sol `sol` is when the rover is at sol `now`: "today", "1 sol ago", ...;
 * "" when it cannot be said (a report from a sol not yet reached).
 * @param {number} sol @param {number} now
 */
export function solAge(sol, now) {
  const age = now - sol;
  if (!Number.isInteger(age) || age < 0) return "";
  return age === 0 ? "today" : age === 1 ? "1 sol ago" : `${age} sols ago`;
}

/**
 * A temperature given in °C, shown in `unit`, whole degrees.
 * @param {number|null|undefined} c @param {"C"|"F"} unit
 */
export const temperature = (c, unit) => (c === null || c === undefined ? "—"
  : `${Math.round(unit === "F" ? c * 9 / 5 + 32 : c)} °${unit}`);
