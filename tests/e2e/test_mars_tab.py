"""The Mars tab in Debian's chromium against the local stack on a fake NASA: no sign-in, the
photo at full resolution with its credit and source link, and the history chart drawn to the
data."""

from __future__ import annotations

import pytest

from testing.browser import SHOTS
from testing.fake_nasa import FakeNasa, Reply
from testing.stack_process import StackProcess

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# Points of the SVG polylines, and the chart's own scales, read in the page.
CHART = """() => {
  const svg = document.querySelector('#mars-charts svg.mars-chart');
  const pts = (cls) => [...svg.querySelectorAll('polyline.' + cls)].map(
    (l) => l.getAttribute('points').split(' ').map((p) => p.split(',').map(Number)));
  return {source: svg.dataset.source, max: pts('max'), min: pts('min'),
          band: svg.querySelectorAll('polygon.band').length,
          labels: [...svg.querySelectorAll('text')].map((t) => t.textContent)};
}"""


@pytest.fixture(scope="module")
def mars_stack():
    with FakeNasa() as nasa:
        nasa.script("rems", Reply(fixture="rems_history_gaps.json"))
        env = {"MARS_SITE_BASE": nasa.url, "NASA_API_BASE": nasa.url,
               "MARS_OFFLINE_SAMPLE": "0", "POWERTOOLS_METRICS_DISABLED": "true"}
        with StackProcess(only="api,web", env=env, ready_timeout=60) as stack:
            yield stack, nasa


def test_mars_tab_shows_a_credited_photo_and_draws_the_history(browser, mars_stack):
    stack, nasa = mars_stack
    # The fake NASA is on loopback, which the page's CSP (the template's, NASA's https hosts
    # only) rightly refuses: this context lets it through; the next test keeps the CSP.
    context = browser.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{stack.base_url}/#mars")  # no sign-in
        page.wait_for_selector("#mars-charts svg.mars-chart polyline.max", timeout=20000)
        page.wait_for_function("() => document.getElementById('mars-photo').naturalWidth > 0",
                               timeout=20000)
        assert page.is_hidden("#sign-in") and page.is_hidden("#console")
        assert page.inner_text("h1") == "Mars today" and page.title() == "Mars today"

        photo = page.evaluate("() => window.marsTab.answer.photos[0]")
        # The fake NASA's URLs are plain http on loopback: not NASA's https hosts, so neither
        # becomes a src or an href (the device bitmap stands in, the source link is hidden).
        assert photo["full_url"].startswith(nasa.url) and photo["source_url"]
        assert page.get_attribute("#mars-photo", "src").startswith("blob:")
        assert page.get_attribute("#mars-full", "href") is None
        assert page.is_hidden("#mars-source")
        assert page.get_attribute("#mars-source", "href") is None
        assert page.inner_text("#mars-credit") == f"Credit: {photo['credit']}"
        assert f"sol {photo['sol']}" in page.inner_text("#mars-caption")

        series = page.evaluate("() => window.marsTab.answer.history[0]")
        chart = page.evaluate(CHART)
        assert chart["source"] == "REMS"
        # rems_history_gaps.json: sols 201-204 and 207-212, 205/206 missing, 210 all "--",
        # 211 without a max: both lines break at the gap and at 210, the max again at 211.
        assert [len(run) for run in chart["max"]] == [4, 3, 1]
        assert [len(run) for run in chart["min"]] == [4, 3, 2]
        assert chart["band"] >= 2
        assert "sol 201" in chart["labels"] and "sol 212" in chart["labels"]
        # Pixel positions follow the data: x is linear in the sol, y in the temperature.
        xs = {p["sol"]: None for p in series["sols"]}
        flat_max = [pt for run in chart["max"] for pt in run]
        maxima = [p for p in series["sols"] if p["max_temp_c"] is not None]
        assert len(flat_max) == len(maxima)
        (x0, y0), (x1, y1) = flat_max[0], flat_max[-1]
        for (x, y), point in zip(flat_max, maxima, strict=True):
            sol_t = (point["sol"] - maxima[0]["sol"]) / (maxima[-1]["sol"] - maxima[0]["sol"])
            assert x == pytest.approx(x0 + sol_t * (x1 - x0), abs=0.2)
            xs[point["sol"]] = x
            if maxima[-1]["max_temp_c"] != maxima[0]["max_temp_c"]:
                t = (point["max_temp_c"] - maxima[0]["max_temp_c"]) / (
                    maxima[-1]["max_temp_c"] - maxima[0]["max_temp_c"])
                assert y == pytest.approx(y0 + t * (y1 - y0), abs=0.2)
        # Higher temperatures are drawn higher (smaller y), and every high above its low.
        for run_max, run_min in zip(chart["max"], chart["min"], strict=False):
            assert min(y for _, y in run_max) < max(y for _, y in run_min)
        # the report's sol with its age, next to the rover's sol now
        now_sol = page.evaluate("() => window.marsTab.answer.mars_time.sol")
        assert f"sol 212, {now_sol - 212} sols ago" in page.inner_text("#mars-weather")
        assert f"sol {now_sol}," in page.inner_text("#mars-now")
        assert "local mean solar time" in page.inner_text("#mars-now")
        assert page.evaluate("() => [...document.querySelectorAll('svg.mars-chart text.tick')]"
                             ".every((t) => t.textContent.endsWith('°C'))")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "mars_tab.png"), full_page=True)
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


TICKS = "() => [...document.querySelectorAll('svg.mars-chart text.tick')].map((t) => t.textContent)"


def test_on_a_phone_the_chart_is_legible_with_units_and_round_degrees_f(browser, mars_stack):
    stack, _ = mars_stack
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(f"{stack.base_url}/")
        assert page.inner_text("h1") == "Robot control"
        page.click("[data-tab-button=mars]")  # the header follows the tab
        page.wait_for_selector("#mars-charts svg.mars-chart polyline.max", timeout=20000)
        assert page.inner_text("h1") == "Mars today"
        celsius = page.evaluate(TICKS)
        assert celsius and all(t.endswith("°C") for t in celsius)
        # text on the phone at its CSS size: the chart is drawn at the screen's width
        sizes = page.evaluate("() => [...document.querySelectorAll('svg.mars-chart text')]"
                              ".map((t) => t.getBoundingClientRect().height)")
        assert min(sizes) >= 12, sizes
        box = page.locator("svg.mars-chart").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.click("[data-unit-button=F]")
        page.wait_for_function(f"c => ({TICKS})().join() !== c.join()", arg=celsius)
        fahrenheit = page.evaluate(TICKS)
        assert all(t.endswith("°F") for t in fahrenheit)
        assert all(int(t[:-2]) % 10 == 0 for t in fahrenheit), fahrenheit  # round °F lines
        assert "°F" in page.inner_text("#mars-weather")
        page.reload()  # the choice is kept
        page.wait_for_selector("#mars-charts svg.mars-chart", timeout=20000)
        assert page.evaluate(TICKS) == fahrenheit
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "mars_tab_phone.png"), full_page=True)
    finally:
        context.close()
