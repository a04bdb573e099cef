"""Runs the shared cases (``testing/pyportal_cases.py``) and encodes what came out.

The same file runs on CPython (the tests) and in the MicroPython VM (``vm.py``), so it is
written for both: no f-strings, no dataclasses, only modules both have. Outcomes are encoded to
plain JSON so the two runtimes can be compared value for value: a tuple stays a tuple, a float
keeps its repr, an exception becomes its type name and message.
"""

import json
import os
from binascii import hexlify, unhexlify


class Raised:
    """An exception as an outcome, inside a helper's report."""

    def __init__(self, error):
        self.error = error


def encode(value):
    """A JSON-able form of ``value`` that tells tuples, lists, floats and bytes apart."""
    if isinstance(value, Raised):
        return encode_error(value.error)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"$float": repr(value)}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        pairs = sorted([[str(k), encode(v)] for k, v in value.items()], key=lambda kv: kv[0])
        return {"$dict": pairs}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": hexlify(value).decode()}
    raise TypeError("cannot encode a %s" % type(value).__name__)


def encode_error(error):
    """``{"$raises": [type, message]}``, plus the setting's name for a ``SettingError``."""
    out = [type(error).__name__, str(error)]
    if out[0] == "SettingError":
        out.append(error.name)
    return {"$raises": out}


def outcome(fn, *args, **kwargs):
    """What calling ``fn`` gives: its value or, if it raises, the :class:`Raised` error."""
    try:
        return fn(*args, **kwargs)
    except Exception as error:  # every error is an outcome to compare
        return Raised(error)


def decode(value, exceptions):
    """Arguments back from their JSON form (``$bytes``, ``$exc``, ``$tuple``, ``$float``)."""
    if isinstance(value, list):
        return [decode(v, exceptions) for v in value]
    if not isinstance(value, dict):
        return value
    if "$bytes" in value:
        return unhexlify(value["$bytes"])
    if "$tuple" in value:
        return tuple(decode(v, exceptions) for v in value["$tuple"])
    if "$float" in value:
        return float(value["$float"])
    if "$exc" in value:
        name, args = value["$exc"]
        return exceptions[name](*args)
    return {k: decode(v, exceptions) for k, v in value.items()}


# -- the request/response side of the API client -----------------------------------------


class ScriptedResponse:
    """An ``adafruit_requests.Response`` as ``net`` uses it, with a body given in advance.

    ``headers`` keys are lower case, as adafruit_requests stores them; ``body`` may be shorter
    than its ``content-length`` (a connection cut mid-transfer ends the iteration early).
    """

    def __init__(self, status, headers, body):
        self.status_code = status
        self.headers = headers
        self._body = body
        self.closed = False

    def json(self):
        return json.loads(self._body.decode())

    def iter_content(self, chunk_size=1024):
        for start in range(0, len(self._body), chunk_size):
            yield self._body[start:start + chunk_size]

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ScriptedSession:
    """Answers each ``get`` with the next scripted response and records what was sent."""

    def __init__(self, responses):
        self._responses = list(responses)
        self.sent = []
        self.opened = []

    def get(self, url, headers=None, timeout=None, stream=False):
        self.sent.append([url, dict(headers or {}), stream])
        answer = self._responses.pop(0)
        body = answer.get("body", b"")
        if isinstance(body, str):
            body = body.encode()
        response = ScriptedResponse(answer.get("status", 200), answer.get("headers", {}), body)
        self.opened.append(response)
        return response


def _net_report(net, session, result):
    return {"outcome": result, "sent": session.sent, "requests": net.requests,
            "bytes": net.bytes, "all_closed": all(r.closed for r in session.opened)}


def net_fetch(modules, scratch, api_url, responses, size):
    """``Net.fetch`` against scripted responses: its outcome and the requests it sent."""
    session = ScriptedSession(responses)
    net = modules["net"].Net(session, api_url, "test-key", timeout=1)
    result = outcome(net.fetch, *size)
    return _net_report(net, session, result)


def net_download(modules, scratch, api_url, responses, url, size, etag=None, announced=None):
    """``Net.download`` into a scratch file: outcome, requests, the file, watchdog feeds."""
    session = ScriptedSession(responses)
    fed = []
    net = modules["net"].Net(session, api_url, "test-key", feed=lambda: fed.append(1), timeout=1)
    path = scratch + "/download.bmp"
    try:
        os.remove(path)  # left by the case before
    except OSError:
        pass
    result = outcome(net.download, url, path, size[0], size[1], etag=etag, size=announced)
    report = _net_report(net, session, result)
    try:
        with open(path, "rb") as f:
            written = f.read()
    except OSError:
        written = None
    body = responses[-1].get("body") if responses else None
    report["file"] = None if written is None else [len(written), written == body]
    report["fed"] = len(fed)
    return report


def settings_load(modules, scratch, values):
    """``settings.load`` from these values: every field, and whether what the log would show
    of them (their ``repr``) names the password or the key."""
    s = modules["settings"].load(getenv=lambda k, d=None: values.get(k, d))
    shown = repr(s)
    secret = [v for v in (s.password, s.api_key) if v and v in shown]
    return (s.ssid, s.password, s.api_url, s.api_key, s.refresh_minutes, s.units, s.view,
            s.gallery_seconds, s.depth, secret != [])


def setting_error(modules, scratch, name, problem):
    """What a ``SettingError`` says and is."""
    errors = modules["errors"]
    e = errors.SettingError(name, problem)
    return (str(e), e.name, e.problem, isinstance(e, errors.PortalError),
            isinstance(e, Exception))


def diagnostics_lines(modules, scratch, *args):
    """``diagnostics.lines``: whether the first line names this runtime, and the others."""
    diagnostics = modules["diagnostics"]
    out = diagnostics.lines(*args)
    return (out[0] == "diag: firmware " + diagnostics.firmware(), out[1:])


def chart_run_spans(modules, scratch, payload, index):
    """The first and last sol of each run of the shown series' field ``index``."""
    points = modules["chart"].series(payload)[0]
    return [(run[0][0], run[-1][0]) for run in modules["chart"].runs(points, index)]


def chart_range_in(modules, scratch, payload, units):
    """The chart's temperature range for the shown series in ``units``."""
    chart = modules["chart"]
    return chart.temperature_range(chart.in_units(chart.series(payload)[0], units))


HELPERS = {"net_fetch": net_fetch, "net_download": net_download, "settings_load": settings_load,
           "setting_error": setting_error, "diagnostics_lines": diagnostics_lines,
           "chart_run_spans": chart_run_spans, "chart_range_in": chart_range_in}


def run(case, modules, scratch, exceptions):
    """One case: ``{"call": "view.temperature" | "@helper", "args": [...]}`` -> outcome."""
    args = decode(case.get("args", []), exceptions)
    kwargs = decode(case.get("kwargs", {}), exceptions)
    call = case["call"]
    if call.startswith("@"):
        return encode(outcome(HELPERS[call[1:]], modules, scratch, *args, **kwargs))
    module, name = call.split(".")
    return encode(outcome(getattr(modules[module], name), *args, **kwargs))


def import_all(names):
    """``({name: module}, None)``, or ``(None, [name, message])`` for the first that fails."""
    modules = {}
    for name in names:
        try:
            modules[name] = __import__(name)
        except ImportError as error:
            return None, [name, str(error)]
    return modules, None


def run_all(cases, modules, scratch, exceptions):
    """Every case, in order: ``{id: outcome}``."""
    return {case["id"]: run(case, modules, scratch, exceptions) for case in cases}
