// @ts-check
// The Mars tab: today's photo (full resolution, credited), the weather now and its history
// chart, Mars time. No sign-in locally: the local stack's config.json carries the Mars API key;
// elsewhere the tab asks for the key once and keeps it in this browser.

import { $, $input } from "./dom.js";
import { chartModel } from "./mars-chart.js";
import { solAge, temperature as temp } from "./mars-words.js";
import { nasaUrl } from "./urls.js";

const SVG = "http://www.w3.org/2000/svg";
const KEY_STORE = "mars-api-key";
const UNIT_STORE = "mars-units";
const HISTORY_SOLS = 30;
const TITLES = { robot: "Robot control", mars: "Mars today" };

/** @typedef {import("./mars-chart.js").Unit} Unit */
/** @typedef {import("./mars-chart.js").Series} Series */

/**
 * @param {string} tag
 * @param {Record<string, string|number>} attrs
 * @param {Element} [parent]
 */
function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

/** @param {import("./mars-chart.js").XY[]} list */
const pts = (list) => list.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
/** @param {number|null|undefined} v @param {string} unit */
const num = (v, unit) => (v === null || v === undefined ? "—" : `${v}${unit}`);
/**
 * Draw one series as an SVG chart into `holder`, `width` user units wide (the holder's pixel
 * width: text stays its CSS size on a phone); returns the <svg> or null with no data.
 * @param {Element} holder
 * @param {Series} series
 * @param {Unit} unit
 * @param {number} width
 */
export function drawChart(holder, series, unit = "C", width = 560, height = 240) {
  const model = chartModel(series, width, height, unit);
  if (!model) return null;
  const left = 52;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    class: "mars-chart", "data-source": series.source, "data-unit": unit,
    "aria-label": `${series.source} air temperature in °${unit}, sols ${model.first} to ${model.last}` },
  holder);
  for (const tick of model.ticks) {
    svg("line", { x1: left, x2: width - 10, y1: tick.y, y2: tick.y, class: "grid" }, root);
    svg("text", { x: left - 6, y: tick.y + 4, class: "axis tick", "text-anchor": "end" }, root)
      .textContent = `${tick.t}°${unit}`;
  }
  for (const band of model.band) svg("polygon", { points: pts(band), class: "band" }, root);
  for (const kind of /** @type {const} */ (["max", "min"])) {
    for (const run of model[kind]) {
      svg("polyline", { points: pts(run), class: kind }, root);
      // a lone sol (between gaps, or a one-sol history) is a dot, not an invisible line
      if (run.length === 1) svg("circle", { cx: run[0][0], cy: run[0][1], r: 3, class: `${kind} dot` }, root);
    }
  }
  for (const run of model.pressure) svg("polyline", { points: pts(run), class: "pressure" }, root);
  const bottom = height - 22;
  svg("text", { x: left, y: bottom, class: "axis" }, root).textContent = `sol ${model.first}`;
  svg("text", { x: width - 10, y: bottom, class: "axis", "text-anchor": "end" }, root)
    .textContent = `sol ${model.last}`;
  svg("text", { x: (left + width) / 2, y: height - 4, class: "axis", "text-anchor": "middle" }, root)
    .textContent = "pressure (Pa)";
  return root;
}

/** @param {any} photo @param {string} key */
async function bitmapUrl(photo, key) {
  // No public original (the offline sample): show the device bitmap, fetched with the key.
  const response = await fetch(photo.url, { headers: { "x-api-key": key } });
  return response.ok ? URL.createObjectURL(await response.blob()) : "";
}

/** @param {any} photo @param {string} key */
async function renderPhoto(photo, key) {
  $("mars-figure").hidden = !photo;
  if (!photo) return;
  const img = /** @type {HTMLImageElement} */ ($("mars-photo"));
  const full = nasaUrl(photo.full_url); // only NASA's https originals, never a feed's other URLs
  img.alt = `${photo.rover} ${photo.camera} photo, sol ${photo.sol}`;
  // NASA's original; where the page may not load it (a mirror the page's CSP does not
  // list), the device bitmap stands in
  img.onerror = async () => {
    img.onerror = null;
    img.src = await bitmapUrl(photo, key);
  };
  img.src = full || await bitmapUrl(photo, key);
  const fullLink = /** @type {HTMLAnchorElement} */ ($("mars-full"));
  if (full) fullLink.href = full; else fullLink.removeAttribute("href");
  $("mars-caption").textContent = `${photo.rover} · ${photo.camera} · sol ${photo.sol}`
    + (photo.taken_utc ? ` · ${photo.taken_utc.replace("T", " ").replace("Z", " UTC")}` : "");
  $("mars-credit").textContent = `Credit: ${photo.credit}`;
  const link = /** @type {HTMLAnchorElement} */ ($("mars-source"));
  const source = nasaUrl(photo.source_url);
  link.hidden = !source;
  if (source) link.href = source; else link.removeAttribute("href");
}

/** @param {any} answer @param {Unit} unit */
function renderWeather(answer, unit) {
  const w = answer.weather;
  const t = answer.mars_time;
  $("mars-now").textContent = t
    ? `${t.rover} now: sol ${t.sol}, ${t.lmst.slice(0, 5)} local mean solar time · ${t.season}`
      + ` (${t.local_season} at the rover) · Ls ${t.ls}° · Mars Year ${t.mars_year}`
    : "";
  const age = w && t && t.rover === w.rover ? solAge(w.sol, t.sol) : "";
  $("mars-weather").textContent = w
    ? `Latest weather report: ${w.rover} (${w.source}), sol ${w.sol}${age ? `, ${age}` : ""}`
      + `${w.earth_date ? ` (${w.earth_date})` : ""}: `
      + `low ${temp(w.min_temp_c, unit)}, high ${temp(w.max_temp_c, unit)}, `
      + `${num(w.pressure_pa, " Pa")}; sunrise ${w.sunrise || "—"}, sunset ${w.sunset || "—"}`
      + (w.season_name ? ` · ${w.season_name}` : "")
    : "No weather report.";
  const holder = $("mars-charts");
  holder.replaceChildren();
  const width = Math.max(280, Math.min(640, Math.round(holder.clientWidth || 560)));
  for (const series of answer.history || []) {
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    const span = series.sols.length
      ? `sols ${series.sols[0].sol}–${series.sols[series.sols.length - 1].sol}` : "";
    caption.textContent = `${series.rover} (${series.source}) air temperature in °${unit}, `
      + `${span}: high (orange) and low (blue); pressure below (grey)`;
    figure.appendChild(caption);
    if (drawChart(figure, series, unit, width)) holder.appendChild(figure);
  }
  if (!holder.children.length) holder.textContent = "No weather history yet.";
}

/** @param {any} answer @param {(i: number) => void} load */
function renderGallery(answer, load) {
  const list = $("mars-gallery");
  list.replaceChildren();
  for (const [i, photo] of /** @type {any[]} */ (answer.photos || []).entries()) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${photo.rover} ${photo.camera} sol ${photo.sol}`;
    button.addEventListener("click", () => load(i));
    list.appendChild(button);
  }
}

/** @param {string} base @param {string} key */
async function fetchMars(base, key) {
  const response = await fetch(`${base}/mars?history=${HISTORY_SOLS}&width=480&height=320`, {
    headers: { "x-api-key": key }, cache: "no-store" });
  const data = await response.json().catch(() => null);
  if (response.status === 403) throw Object.assign(new Error("The Mars API key was refused."), { refused: true });
  if (!response.ok) throw new Error(data && data.error ? data.error.message : `HTTP ${response.status}`);
  return data;
}

/** The °C/°F switch, remembered in this browser. @param {(unit: Unit) => void} changed */
function unitSwitch(changed) {
  /** @returns {Unit} */
  const stored = () => (localStorage.getItem(UNIT_STORE) === "F" ? "F" : "C");
  const buttons = /** @type {NodeListOf<HTMLButtonElement>} */ (
    document.querySelectorAll("[data-unit-button]"));
  /** @param {Unit} unit */
  const show = (unit) => {
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.unitButton === unit));
  };
  for (const b of buttons) {
    b.addEventListener("click", () => {
      const unit = b.dataset.unitButton === "F" ? "F" : "C";
      localStorage.setItem(UNIT_STORE, unit);
      show(unit);
      changed(unit);
    });
  }
  show(stored());
  return stored;
}

async function start() {
  const config = await (await fetch("config.json", { cache: "no-store" })).json();
  const base = (config.marsApiBase || config.apiBase || "").replace(/\/$/, "");
  /** @param {"robot"|"mars"} tab */
  const show = (tab) => {
    document.body.dataset.tab = tab;
    $("title").textContent = TITLES[tab];
    document.title = TITLES[tab];
    for (const b of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-tab-button]"))) {
      b.setAttribute("aria-selected", String(b.dataset.tabButton === tab));
    }
  };
  /** @type {any} */
  let answer = null;
  const unit = unitSwitch(() => { if (answer) renderWeather(answer, unit()); });
  let width = 0;
  window.addEventListener("resize", () => { // a phone turned: redraw at the new width
    const now = $("mars-charts").clientWidth;
    if (answer && Math.abs(now - width) > 20) { width = now; renderWeather(answer, unit()); }
  });
  const load = async () => {
    const key = config.marsApiKey || localStorage.getItem(KEY_STORE);
    $("mars-key-form").hidden = Boolean(key);
    if (!key) return;
    $("mars-state").textContent = "Loading…";
    try {
      answer = await fetchMars(base, key);
      window.marsTab = { answer };
      await renderPhoto((answer.photos && answer.photos[0]) || answer.image, key);
      width = $("mars-charts").clientWidth;
      renderWeather(answer, unit());
      renderGallery(answer, (i) => renderPhoto(answer.photos[i], key));
      $("mars-state").textContent = answer.offline ? "Offline sample: not NASA data."
        : answer.stale ? `Last update ${answer.updated_utc} (NASA not reachable now)` : "";
    } catch (error) {
      answer = null;
      if (/** @type {any} */ (error).refused && !config.marsApiKey) {
        localStorage.removeItem(KEY_STORE);
        $("mars-key-form").hidden = false;
      }
      $("mars-state").textContent = error instanceof Error ? error.message : String(error);
    }
  };
  $("mars-key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(KEY_STORE, $input("mars-key").value.trim());
    load();
  });
  for (const b of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-tab-button]"))) {
    b.addEventListener("click", () => {
      location.hash = b.dataset.tabButton === "mars" ? "mars" : "";
    });
  }
  const route = () => {
    const tab = location.hash === "#mars" ? "mars" : "robot";
    show(tab);
    if (tab === "mars" && !answer) load();
  };
  window.addEventListener("hashchange", route);
  route();
}

start().catch((error) => { $("mars-state").textContent = `The Mars tab could not start: ${error.message}`; });
