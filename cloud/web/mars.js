// The Mars tab: today's photo (full resolution, credited), the weather now and its history
// chart, Mars time. No sign-in locally: the local stack's config.json carries the Mars API key;
// elsewhere the tab asks for the key once and keeps it in this browser.

import { chartModel } from "./mars-chart.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const KEY_STORE = "mars-api-key";
const HISTORY_SOLS = 30;

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

const pts = (list) => list.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
const num = (v, unit) => (v === null || v === undefined ? "—" : `${v}${unit}`);

/** Draw one series as an SVG chart into `holder`; returns the <svg> or null with no data. */
export function drawChart(holder, series, width = 560, height = 220) {
  const model = chartModel(series, width, height);
  if (!model) return null;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    class: "mars-chart", "data-source": series.source,
    "aria-label": `${series.source} air temperature, sols ${model.first} to ${model.last}` }, holder);
  for (const tick of model.ticks) {
    svg("line", { x1: 40, x2: width - 10, y1: tick.y, y2: tick.y, class: "grid" }, root);
    svg("text", { x: 34, y: tick.y + 4, class: "axis", "text-anchor": "end" }, root)
      .textContent = `${tick.t}°`;
  }
  for (const band of model.band) svg("polygon", { points: pts(band), class: "band" }, root);
  for (const kind of ["max", "min"]) {
    for (const run of model[kind]) {
      svg("polyline", { points: pts(run), class: kind }, root);
      // a lone sol (between gaps, or a one-sol history) is a dot, not an invisible line
      if (run.length === 1) svg("circle", { cx: run[0][0], cy: run[0][1], r: 3, class: `${kind} dot` }, root);
    }
  }
  for (const run of model.pressure) svg("polyline", { points: pts(run), class: "pressure" }, root);
  const bottom = height - 22;
  svg("text", { x: 40, y: bottom, class: "axis" }, root).textContent = `sol ${model.first}`;
  svg("text", { x: width - 10, y: bottom, class: "axis", "text-anchor": "end" }, root)
    .textContent = `sol ${model.last}`;
  return root;
}

async function bitmapUrl(photo, key) {
  // No public original (the offline sample): show the device bitmap, fetched with the key.
  const response = await fetch(photo.url, { headers: { "x-api-key": key } });
  return response.ok ? URL.createObjectURL(await response.blob()) : "";
}

async function renderPhoto(photo, key) {
  $("mars-figure").hidden = !photo;
  if (!photo) return;
  const img = $("mars-photo");
  img.alt = `${photo.rover} ${photo.camera} photo, sol ${photo.sol}`;
  // NASA's original; where the page may not load it (a mirror the page's CSP does not
  // list), the device bitmap stands in
  img.onerror = async () => {
    img.onerror = null;
    img.src = await bitmapUrl(photo, key);
  };
  img.src = photo.full_url || await bitmapUrl(photo, key);
  $("mars-full").href = photo.full_url || img.src;
  $("mars-caption").textContent = `${photo.rover} · ${photo.camera} · sol ${photo.sol}`
    + (photo.taken_utc ? ` · ${photo.taken_utc.replace("T", " ").replace("Z", " UTC")}` : "");
  $("mars-credit").textContent = `Credit: ${photo.credit}`;
  const link = $("mars-source");
  link.hidden = !photo.source_url;
  if (photo.source_url) link.href = photo.source_url;
}

function renderWeather(answer) {
  const w = answer.weather;
  const t = answer.mars_time;
  $("mars-now").textContent = t
    ? `${t.rover}: sol ${t.sol}, ${t.lmst.slice(0, 5)} local mean solar time · ${t.season}`
      + ` (${t.local_season} at the rover) · Ls ${t.ls}° · Mars Year ${t.mars_year}`
    : "";
  $("mars-weather").textContent = w
    ? `${w.rover} (${w.source}), sol ${w.sol}${w.earth_date ? ` (${w.earth_date})` : ""}: `
      + `low ${num(w.min_temp_c, " °C")}, high ${num(w.max_temp_c, " °C")}, `
      + `${num(w.pressure_pa, " Pa")}; sunrise ${w.sunrise || "—"}, sunset ${w.sunset || "—"}`
      + (w.season_name ? ` · ${w.season_name}` : "")
    : "No weather report.";
  const holder = $("mars-charts");
  holder.replaceChildren();
  for (const series of answer.history || []) {
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    const span = series.sols.length
      ? `sols ${series.sols[0].sol}–${series.sols[series.sols.length - 1].sol}` : "";
    caption.textContent = `${series.rover} (${series.source}) air temperature, ${span}: `
      + "high (orange) and low (blue); pressure below (grey)";
    figure.appendChild(caption);
    if (drawChart(figure, series)) holder.appendChild(figure);
  }
  if (!holder.children.length) holder.textContent = "No weather history yet.";
}

function renderGallery(answer, load) {
  const list = $("mars-gallery");
  list.replaceChildren();
  for (const [i, photo] of (answer.photos || []).entries()) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${photo.rover} ${photo.camera} sol ${photo.sol}`;
    button.addEventListener("click", () => load(i));
    list.appendChild(button);
  }
}

async function fetchMars(base, key) {
  const response = await fetch(`${base}/mars?history=${HISTORY_SOLS}&width=480&height=320`, {
    headers: { "x-api-key": key }, cache: "no-store" });
  const data = await response.json().catch(() => null);
  if (response.status === 403) throw Object.assign(new Error("The Mars API key was refused."), { refused: true });
  if (!response.ok) throw new Error(data && data.error ? data.error.message : `HTTP ${response.status}`);
  return data;
}

async function start() {
  const config = await (await fetch("config.json", { cache: "no-store" })).json();
  const base = (config.marsApiBase || config.apiBase || "").replace(/\/$/, "");
  const show = (tab) => {
    document.body.dataset.tab = tab;
    for (const b of document.querySelectorAll("[data-tab-button]")) {
      b.setAttribute("aria-selected", String(b.dataset.tabButton === tab));
    }
  };
  let loaded = false;
  const load = async () => {
    const key = config.marsApiKey || localStorage.getItem(KEY_STORE);
    $("mars-key-form").hidden = Boolean(key);
    if (!key) return;
    $("mars-state").textContent = "Loading…";
    try {
      const answer = await fetchMars(base, key);
      window.marsTab = { answer };
      await renderPhoto((answer.photos && answer.photos[0]) || answer.image, key);
      renderWeather(answer);
      renderGallery(answer, (i) => renderPhoto(answer.photos[i], key));
      $("mars-state").textContent = answer.offline ? "Offline sample: not NASA data."
        : answer.stale ? `Last update ${answer.updated_utc} (NASA not reachable now)` : "";
      loaded = true;
    } catch (error) {
      if (error.refused && !config.marsApiKey) {
        localStorage.removeItem(KEY_STORE);
        $("mars-key-form").hidden = false;
      }
      $("mars-state").textContent = error.message;
    }
  };
  $("mars-key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(KEY_STORE, $("mars-key").value.trim());
    load();
  });
  for (const b of document.querySelectorAll("[data-tab-button]")) {
    b.addEventListener("click", () => {
      location.hash = b.dataset.tabButton === "mars" ? "mars" : "";
    });
  }
  const route = () => {
    const tab = location.hash === "#mars" ? "mars" : "robot";
    show(tab);
    if (tab === "mars" && !loaded) load();
  };
  window.addEventListener("hashchange", route);
  route();
}

start().catch((error) => { $("mars-state").textContent = `The Mars tab could not start: ${error.message}`; });
