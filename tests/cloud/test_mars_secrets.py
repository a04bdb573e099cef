"""The api.nasa.gov key: read from an SSM SecureString (moto) through Powertools Parameters,
sent as the ``X-Api-Key`` header to its own origin only, and in no log line, ours or a
library's, even with every upstream unreachable and urllib3 retrying (it logs each retry's URL
at WARNING, the root level Lambda's runtime sets)."""

from __future__ import annotations

import functools
import io
import json
import logging
import warnings

import pytest

from cloud.mars import handler, refresh, runtime
from cloud.mars.allowlist import Allowlist
from cloud.mars.http import HttpClient, HttpPolicy
from testing.fake_nasa import FakeNasa, Reply, error_page
from testing.mars_events import load_event
from testing.ports import free_port

KEY = "nasa-key-8f3c1d9e2b7a4c6f0e5d"  # what deploy puts into the SecureString
PARAMETER = "/mars-robot-test/nasa-api-key"


@pytest.fixture(scope="module")
def ssm_module():
    """One moto SSM for the module (starting moto costs about a second a test)."""
    moto = pytest.importorskip("moto")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"),
                            ("AWS_SECRET_ACCESS_KEY", "testing"),
                            ("AWS_DEFAULT_REGION", "us-east-1")):
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        with moto.mock_aws():
            import boto3

            client = boto3.client("ssm", region_name="us-east-1")
            client.put_parameter(Name=PARAMETER, Value=KEY, Type="SecureString")
            yield client


@pytest.fixture
def ssm(ssm_module):
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS.pop("ssm", None)  # a provider holds its boto3 client and values
    parameters.clear_caches()
    yield ssm_module
    base.DEFAULT_PROVIDERS.pop("ssm", None)
    parameters.clear_caches()


def test_the_key_comes_from_ssm_and_travels_as_a_header(ssm, handler_env, nasa,
                                                         lambda_context):
    handler_env(NASA_API_KEY="a-key-left-in-the-environment", NASA_API_KEY_PARAMETER=PARAMETER,
                MARS_PHOTOS_API_BASE=nasa.url)
    for route in ("rems", "meda", "perseverance", "curiosity"):  # the keyed sources answer
        nasa.script(route, error_page(404))
    answer = json.loads(handler.lambda_handler(load_event("get_mars.json"),
                                               lambda_context)["body"])
    assert answer["weather"]["source"] == "InSight" and answer["image"] is not None
    keyed = [r for r in nasa.requests if r["route"] == "insight"
             or r["route"].startswith("mars_photos")]
    assert keyed and all(r["headers"].get("X-Api-Key") == KEY for r in keyed)
    assert all("api_key" not in r["path"] and KEY not in r["path"] for r in nasa.requests)
    others = [r for r in nasa.requests if r not in keyed]
    assert others and not any("X-Api-Key" in r["headers"] for r in others)


def test_the_key_does_not_follow_a_redirect_to_another_origin(nasa):
    with FakeNasa() as elsewhere:
        nasa.script("insight", Reply(status=302, redirect=f"{elsewhere.url}/insight_weather/"))
        http = HttpClient(HttpPolicy(retries=0), allowlist=Allowlist.of([nasa.url,
                                                                          elsewhere.url]))
        http.get_json(f"{nasa.url}/insight_weather/", secret_headers={"X-Api-Key": KEY})
    assert nasa.requests[0]["headers"]["X-Api-Key"] == KEY
    assert [r["route"] for r in elsewhere.requests] == ["insight"]
    assert "X-Api-Key" not in elsewhere.requests[0]["headers"]


@pytest.fixture
def output(monkeypatch, capfd):
    """Everything the handlers print: the Powertools JSON lines, the root logger as Lambda's
    runtime has it (WARNING), stdout and stderr, warnings. Call it for the text so far."""
    root, runtime_log, ours = logging.getLogger(), io.StringIO(), io.StringIO()
    lambda_runtime = logging.StreamHandler(runtime_log)
    monkeypatch.setattr(root, "level", logging.WARNING)
    monkeypatch.setattr(handler.logger.registered_handler, "stream", ours)
    root.addHandler(lambda_runtime)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")

        def text() -> str:
            out, err = capfd.readouterr()
            return "\n".join([runtime_log.getvalue(), ours.getvalue(), out, err,
                              *(str(w.message) for w in warned)])

        yield text
    root.removeHandler(lambda_runtime)


def test_no_log_line_carries_the_key_with_every_upstream_unreachable(
        ssm, handler_env, lambda_context, monkeypatch, output):
    closed = f"http://127.0.0.1:{free_port()}"  # connections refused: urllib3 retries, and logs
    handler_env(NASA_API_KEY=KEY, NASA_API_KEY_PARAMETER=PARAMETER, MARS_SITE_BASE=closed,
                NASA_API_BASE=closed, MARS_PHOTOS_API_BASE=closed, LOG_LEVEL="DEBUG")
    monkeypatch.setattr(runtime, "HttpClient", functools.partial(HttpClient, sleep=lambda s: None))
    response = handler.lambda_handler(load_event("get_mars.json"), lambda_context)
    with pytest.raises(refresh.RefreshFailed):
        refresh.lambda_handler(load_event("scheduled_refresh.json"), lambda_context)
    everything = output()
    assert response["statusCode"] == 503 and "every weather source failed" in everything
    assert "Retrying" in everything and "/insight_weather/" in everything  # urllib3's warnings
    assert KEY not in everything


def test_an_unreadable_parameter_is_named_and_its_value_never_shown(ssm, handler_env, nasa,
                                                                    lambda_context, output):
    handler_env(NASA_API_KEY_PARAMETER="/no/such/parameter")
    response = handler.lambda_handler(load_event("get_mars.json"), lambda_context)
    assert response["statusCode"] == 500 and sum(nasa.counts.values()) == 0
    everything = output()
    assert "NASA_API_KEY_PARAMETER='/no/such/parameter'" in everything
    assert "ParameterNotFound" in everything


def test_the_mars_functions_may_read_and_decrypt_that_one_parameter_only():
    from tools.deploy import nasa_key, template

    source = template.load()
    assert source["Parameters"]["NasaApiKeyParameter"]["Default"] == nasa_key.parameter_name(
        "mars")
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter" \
          "${NasaApiKeyParameter}"
    for name, role in (("MarsApiFunction", "MarsApiRole"),
                       ("MarsRefreshFunction", "MarsRefreshRole")):
        props = source["Resources"][name]["Properties"]
        assert props["Environment"]["Variables"]["NASA_API_KEY_PARAMETER"] == {
            "Ref": "NasaApiKeyParameter"}
        assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}  # each function's own role
        statements = [s for p in source["Resources"][role]["Properties"]["Policies"]
                      for s in p["PolicyDocument"]["Statement"]]
        read = [s for s in statements if "ssm:GetParameter" in str(s["Action"])]
        assert [(s["Action"], s["Resource"]) for s in read] == [("ssm:GetParameter",
                                                                 {"Fn::Sub": arn})]
        decrypt = next(s for s in statements if s["Action"] == "kms:Decrypt")
        assert decrypt["Condition"]["StringEquals"] == {
            "kms:ViaService": {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"},
            "kms:EncryptionContext:PARAMETER_ARN": {"Fn::Sub": arn}}
