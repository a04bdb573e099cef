"""The fake Mars API the device tests meet answers in the real handler's shape.

The PyPortal's tests and the simulator run against ``testing/fake_mars_api.py``, which serves
the payloads of ``testing/data/mars_api/``. Here the real handler (on the fake NASA) and the fake
are asked the same device queries, and every payload that stands for an answer must have the
same keys at every depth, the same JSON types, and the same values where the query decides
them. A key the cloud stops or starts sending fails here until the payloads follow it.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.mars import handler
from testing.fake_mars_api import API_KEY, PAYLOADS, MarsServer
from testing.mars_events import load_event

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = ("full", "history", "history_single", "history_switch", "history_lone_first",
           "recorded")
NOT_ANSWERS = {  # what the device must survive, on purpose not this API's answer
    "legacy": "the original Mars display's API: image_url and insight alone",
    "nulls": "every value missing",
    "strings": "numbers as strings, an image that is not an object",
}
SIZES = ((320, 240), (480, 320))


def view_queries() -> list[str]:
    """What each PyPortal view adds to ``/mars?width=...&height=...&depth=...``."""
    found = set()
    for path in (ROOT / "device" / "pyportal").glob("*.py"):
        found.update(re.findall(r'^\s+query = "(&[^"]*)"', path.read_text(), re.MULTILINE))
    return sorted(found)


def kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")


def differences(real: object, fake: object, where: str = "") -> list[str]:
    """Where ``fake`` leaves the shape of ``real`` (``null`` fits any type: unknown values
    are null in the API's answers)."""
    if real is None or fake is None:
        return []
    if kind(real) != kind(fake):
        return [f"{where}: the fake sends a {kind(fake)}, the API a {kind(real)}"]
    if isinstance(real, dict) and isinstance(fake, dict):
        out = [f"{where}.{key}: only the API sends it" for key in real.keys() - fake.keys()]
        out += [f"{where}.{key}: only the fake sends it" for key in fake.keys() - real.keys()]
        for key in real.keys() & fake.keys():
            out += differences(real[key], fake[key], f"{where}.{key}")
        return out
    if isinstance(real, list) and isinstance(fake, list) and real:
        return [line for n, item in enumerate(fake)
                for line in differences(real[0], item, f"{where}[{n}]")]
    return []


@pytest.fixture(scope="module")
def fake() -> Iterator[MarsServer]:
    with MarsServer() as server:
        yield server


def ask_fake(server: MarsServer, payload: str, query: str) -> dict:
    server.payload = json.loads((PAYLOADS / f"{payload}.json").read_text())
    request = urllib.request.Request(f"{server.url}/mars?{query}", headers={"x-api-key": API_KEY})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def ask_handler(query: str, lambda_context) -> dict:
    params = dict(part.split("=") for part in query.split("&"))
    event = load_event("get_mars.json", queryStringParameters=params,
                       multiValueQueryStringParameters={k: [v] for k, v in params.items()})
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def test_every_payload_is_an_answer_or_said_not_to_be():
    assert {p.stem for p in PAYLOADS.glob("*.json")} == set(ANSWERS) | set(NOT_ANSWERS)


def test_the_fake_answers_every_view_query_in_the_handlers_shape(handler_env, nasa,
                                                                 lambda_context, fake):
    handler_env()
    queries = view_queries()
    assert len(queries) >= 3, queries  # classic and photo, gallery, weather
    widest = "&history=120&photos=6"  # so that every list has items to compare
    for width, height in SIZES:
        for extra in [*queries, widest]:
            query = f"width={width}&height={height}&depth=8{extra}"
            asked = dict(part.split("=") for part in query.split("&"))
            real = ask_handler(query, lambda_context)
            assert extra != widest or (real["history"] and real["photos"])
            for name in ANSWERS:
                served = ask_fake(fake, name, query)
                assert differences(real, served) == [], (name, query)
                for item in [served["image"], *served["photos"]]:
                    assert (item["width"], item["height"], item["depth"]) == (width, height, 8)
                assert len(served["photos"]) <= int(asked["photos"])
                for series in served["history"]:
                    newest = series["sols"][-1]["sol"]
                    assert all(p["sol"] > newest - int(asked["history"]) for p in series["sols"])
