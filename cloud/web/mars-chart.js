// @ts-check
// The weather history chart: pure geometry (no DOM) so the page and its tests share it.
// x is the sol, y the temperature in the unit shown; a gap in the sols or a null value breaks
// the lines. The grid follows the PyPortal's rules (device/pyportal/chart.py): the range in
// whole 10-degree steps of the unit shown, at most five grid lines, each a round number in
// that unit. Both sides are checked against testing/data/cases/chart.json.

/**
 * @typedef {{sol: number, min_temp_c?: number|null, max_temp_c?: number|null,
 *            pressure_pa?: number|null}} SolPoint
 * @typedef {{source: string, rover?: string, sols: SolPoint[]}} Series
 * @typedef {"C"|"F"} Unit
 * @typedef {[number, number]} XY
 */

export const STEP = 10;
export const MOST_TICKS = 5;

/** @param {number|null|undefined} c @param {Unit} unit */
export const inUnit = (c, unit) => (c === null || c === undefined ? null
  : unit === "F" ? c * 9 / 5 + 32 : c);

/**
 * Split points into runs of consecutive sols where `key` has a value.
 * @template {{sol: number}} P
 * @param {P[]} points
 * @param {keyof P} key
 * @returns {P[][]}
 */
export function runs(points, key) {
  /** @type {P[][]} */
  const out = [];
  /** @type {P[]} */
  let run = [];
  /** @type {number|null} */
  let last = null;
  for (const p of points) {
    const value = p[key];
    if (value === null || value === undefined || (last !== null && p.sol !== last + 1)) {
      if (run.length) out.push(run);
      run = [];
    }
    if (value !== null && value !== undefined) run.push(p);
    last = p.sol;
  }
  if (run.length) out.push(run);
  return out;
}

/**
 * `[low, high]` in whole `step`s around every value (at least one step), or null without any.
 * @param {number[]} values
 * @param {number} step
 * @returns {[number, number]|null}
 */
export function temperatureRange(values, step = STEP) {
  if (!values.length) return null;
  const low = Math.floor(Math.min(...values) / step) * step || 0; // no -0
  let high = Math.ceil(Math.max(...values) / step) * step || 0;
  if (high <= low) high = low + step;
  return [low, high];
}

/**
 * Grid values from `low` up to `high`, `step` apart, the step doubled until there are at
 * most `most` of them.
 * @param {number} low @param {number} high @param {number} step @param {number} most
 */
export function ticks(low, high, step = STEP, most = MOST_TICKS) {
  let s = step;
  while (Math.floor((high - low) / s) + 1 > most) s *= 2;
  const values = [];
  for (let v = low; v <= high; v += s) values.push(v);
  return values;
}

/**
 * Everything the SVG needs for one series: scales, polylines for min and max, the band
 * between them, grid lines, the first and last sol, and a pressure sparkline.
 * @param {Series} series
 * @param {number} width
 * @param {number} height
 * @param {Unit} unit
 */
export function chartModel(series, width, height, unit = "C",
  pad = { left: 52, right: 10, top: 12, bottom: 44 }) {
  const points = (series.sols || []).map((p) => ({ sol: p.sol, pressure_pa: p.pressure_pa,
    low: inUnit(p.min_temp_c, unit), high: inUnit(p.max_temp_c, unit) }));
  const temps = /** @type {number[]} */ (points.flatMap((p) => [p.low, p.high])
    .filter((v) => v !== null));
  const range = temperatureRange(temps);
  if (!points.length || !range) return null;
  const [low, high] = range;
  const first = points[0].sol;
  const last = points[points.length - 1].sol;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  /** @param {number} sol */
  const x = (sol) => pad.left + (last === first ? plotW / 2 : ((sol - first) / (last - first)) * plotW);
  /** @param {number} t */
  const y = (t) => pad.top + ((high - t) / (high - low)) * plotH;
  /** @param {typeof points} run @param {"low"|"high"} key @returns {XY[]} */
  const line = (run, key) => run.map((p) => [x(p.sol), y(Number(p[key]))]);
  const both = points.filter((p) => p.low !== null && p.high !== null).map((p) => ({ ...p, both: 1 }));
  const band = runs(both, "both").filter((r) => r.length > 1)
    .map((r) => [...line(r, "high"), ...line(r.slice().reverse(), "low")]);
  const pressures = /** @type {number[]} */ (points.map((p) => p.pressure_pa)
    .filter((v) => v !== null && v !== undefined));
  /** @type {XY[][]} */
  let pressure = [];
  if (pressures.length) {
    const pLow = Math.min(...pressures);
    const pHigh = Math.max(...pressures);
    // the sparkline sits in the bottom 14 px, under the sol labels
    /** @param {number} v */
    const py = (v) => height - 2 - (pHigh === pLow ? 0.5 : (v - pLow) / (pHigh - pLow)) * 12;
    pressure = runs(points, "pressure_pa").map((r) => r.map((p) => [x(p.sol), py(Number(p.pressure_pa))]));
  }
  return {
    x, y, low, high, unit, first, last, band, pressure,
    ticks: ticks(low, high).map((t) => ({ t, y: y(t) })),
    min: runs(points, "low").map((r) => line(r, "low")),
    max: runs(points, "high").map((r) => line(r, "high")),
  };
}
