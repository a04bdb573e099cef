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

        photo = page.evaluate("() => window.marsTab.answer.photos[0]")
        img = page.locator("#mars-photo")
        assert img.get_attribute("src") == photo["full_url"]
        assert photo["full_url"].startswith(nasa.url)  # the original, not the device bitmap
        assert page.evaluate("() => document.getElementById('mars-photo').naturalWidth") > 480
        assert page.inner_text("#mars-credit") == f"Credit: {photo['credit']}"
        assert page.get_attribute("#mars-source", "href") == photo["source_url"]
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
        assert "sol 212" in page.inner_text("#mars-weather")
        assert "local mean solar time" in page.inner_text("#mars-now")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "mars_tab.png"), full_page=True)
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_a_photo_the_csp_refuses_falls_back_to_the_device_bitmap(browser, mars_stack):
    stack, _ = mars_stack
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    try:
        page.goto(f"{stack.base_url}/#mars")
        page.wait_for_function("() => document.getElementById('mars-photo').src"
                               ".startsWith('blob:') && document.getElementById('mars-photo')"
                               ".naturalWidth > 0", timeout=20000)
        size = page.evaluate("() => [document.getElementById('mars-photo').naturalWidth,"
                             " document.getElementById('mars-photo').naturalHeight]")
        assert size == [480, 320]  # the bitmap the tab asks for
        photo = page.evaluate("() => window.marsTab.answer.photos[0]")
        assert page.get_attribute("#mars-full", "href") == photo["full_url"]  # still linked
        assert page.inner_text("#mars-credit") == f"Credit: {photo['credit']}"
    finally:
        context.close()
