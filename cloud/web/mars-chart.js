// The weather history chart: pure geometry (no DOM) so the page and its tests share it.
// x is the sol, y the temperature; a gap in the sols or a null value breaks the lines.

/** Split points into runs of consecutive sols where `key` has a value. */
export function runs(points, key) {
  const out = [];
  let run = [];
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

function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/**
 * Everything the SVG needs for one series: scales, polylines for min and max, the band
 * between them, y ticks every few degrees, the first and last sol, and a pressure sparkline.
 * @param {{sols: Array<{sol:number, min_temp_c:?number, max_temp_c:?number, pressure_pa:?number}>}} series
 */
export function chartModel(series, width, height, pad = { left: 40, right: 10, top: 10, bottom: 42 }) {
  const points = series.sols || [];
  const temps = points.flatMap((p) => [p.min_temp_c, p.max_temp_c]).filter((v) => v !== null && v !== undefined);
  if (!points.length || !temps.length) return null;
  const step = niceStep(Math.max(...temps) - Math.min(...temps), 4) || 10;
  const low = Math.floor(Math.min(...temps) / step) * step;
  const high = Math.max(low + step, Math.ceil(Math.max(...temps) / step) * step);
  const first = points[0].sol;
  const last = points[points.length - 1].sol;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (sol) => pad.left + (last === first ? plotW / 2 : ((sol - first) / (last - first)) * plotW);
  const y = (t) => pad.top + ((high - t) / (high - low)) * plotH;
  const line = (run, key) => run.map((p) => [x(p.sol), y(p[key])]);
  const both = points.filter((p) => p.min_temp_c != null && p.max_temp_c != null);
  const band = runs(both.map((p) => ({ ...p, both: 1 })), "both").filter((r) => r.length > 1)
    .map((r) => [...r.map((p) => [x(p.sol), y(p.max_temp_c)]),
      ...r.slice().reverse().map((p) => [x(p.sol), y(p.min_temp_c)])]);
  const ticks = [];
  for (let t = low; t <= high + 1e-9; t += step) ticks.push({ t, y: y(t) });
  const pressures = points.filter((p) => p.pressure_pa != null).map((p) => p.pressure_pa);
  let pressure = [];
  if (pressures.length) {
    const pLow = Math.min(...pressures);
    const pHigh = Math.max(...pressures);
    // the sparkline sits in the bottom 14 px, under the sol labels
    const py = (v) => height - 2 - (pHigh === pLow ? 0.5 : (v - pLow) / (pHigh - pLow)) * 12;
    pressure = runs(points, "pressure_pa").map((r) => r.map((p) => [x(p.sol), py(p.pressure_pa)]));
  }
  return {
    x, y, low, high, ticks, first, last, band, pressure,
    min: runs(points, "min_temp_c").map((r) => line(r, "min_temp_c")),
    max: runs(points, "max_temp_c").map((r) => line(r, "max_temp_c")),
  };
}
