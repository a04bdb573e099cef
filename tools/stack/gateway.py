"""A local API Gateway: routes, API-key and bearer-token checks, Lambda invocation.

It does for the local stack what API Gateway does in AWS before and after a handler runs:
match the request to a route of :data:`cloud.routes.ROUTES`, refuse a missing or wrong key
(403) or token (401), answer CORS preflights, cap the payload at Lambda's 6 MB (413), build the
proxy event, run the handler in a worker thread and turn its answer back into HTTP.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib
import importlib.util
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from cloud.routes import Route
from tools.stack.lambda_adapter import (
    BadProxyResponse,
    HttpRequest,
    LambdaContext,
    from_response,
    to_event,
)
from tools.stack.users import DEFAULT_USER, LocalUser, Users

MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
# A request's head and body must arrive within this (API Gateway: 30 s for the whole call).
REQUEST_TIMEOUT_S = 15.0
CORS_HEADERS = "Content-Type,Authorization,X-Api-Key,If-None-Match"

log = logging.getLogger("stack.api")


def error_response(status: int, code: str, message: str, **headers: str) -> web.Response:
    """The project's JSON error shape, as every handler answers it."""
    body = json.dumps({"error": {"code": code, "message": message}})
    return web.Response(status=status, text=body, content_type="application/json",
                        headers=headers)


def _resolve(target: str, fresh: bool = False) -> Callable[[dict, Any], Any]:
    """The handler ``module:function``; ``fresh`` loads a private copy of its module (its own
    globals, as in another container) instead of the imported one."""
    module_name, func_name = target.split(":")
    if not fresh:
        return getattr(importlib.import_module(module_name), func_name)
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module_name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, func_name)


class Function:
    """One Lambda function: up to ``limit`` containers, each running one event at a time.

    Lambda scales out: a request that finds every container busy gets a new one (a cold start)
    rather than a place in a queue, so one slow call never holds up the others. Handlers keep
    per-invocation state in module globals (Powertools' resolver does), so each container past
    the first runs its own copy of the handler's module; what the module shares through other
    modules (the Mars cache, the data directory) stays shared, like a bucket.
    """

    def __init__(self, target: str, limit: int) -> None:
        self.target = target
        self.limit = limit
        self._idle: list[Callable[[dict, Any], Any]] = []
        self._count = 0
        self._ready = threading.Condition()

    @property
    def started(self) -> int:
        """Containers started so far."""
        return self._count

    def _checkout(self) -> Callable[[dict, Any], Any]:
        with self._ready:
            while not self._idle and self._count >= self.limit:
                self._ready.wait()  # at the concurrency limit: API Gateway would throttle
            if self._idle:
                return self._idle.pop()
            self._count += 1
            first = self._count == 1
        try:
            return _resolve(self.target, fresh=not first)
        except BaseException:
            with self._ready:
                self._count -= 1
                self._ready.notify()
            raise

    def invoke(self, event: dict, context: Any) -> Any:
        handler = self._checkout()
        try:
            return handler(event, context)
        finally:
            with self._ready:
                self._idle.append(handler)
                self._ready.notify()


class Gateway:
    """Serve ``routes`` on an aiohttp application.

    :param api_key: the value ``x-api-key`` must carry on ``api_key`` routes.
    :param token: the bearer token ``user`` routes need (the local stand-in for Cognito),
        signing in a person who owns ``robots``; or
    :param users: everyone who may sign in (:mod:`tools.stack.users`), each turned into the
        claims Cognito's authorizer would pass, their robots as ``cognito:groups``.
    :param cors_origin: the origin allowed by CORS (the web page's).
    """

    def __init__(self, routes: Iterable[Route], api_key: str, token: str, cors_origin: str,
                 workers: int = 32, containers: int = 10,
                 request_timeout_s: float = REQUEST_TIMEOUT_S, users: Users | None = None,
                 robots: Iterable[str] = ("sts-pi",)) -> None:
        self.request_timeout_s = request_timeout_s
        self.routes = tuple(routes)
        self.api_key = api_key
        self.users = users or Users([LocalUser(DEFAULT_USER, token, tuple(robots))])
        self.cors_origin = cors_origin
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda")
        self.requests = 0
        self.containers = containers
        self._functions: dict[str, Function] = {}
        self._functions_lock = threading.Lock()

    def register(self, app: web.Application) -> None:
        by_path: dict[str, dict[str, Route]] = {}
        for route in self.routes:
            by_path.setdefault(route.path, {})[route.method] = route
        for path, methods in by_path.items():
            app.router.add_route("*", path, self._endpoint(path, methods))

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def _endpoint(self, path: str, methods: dict[str, Route]):
        allowed = sorted(set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set()))

        async def endpoint(request: web.Request) -> web.StreamResponse:
            method = request.method
            if method == "OPTIONS":
                return self._preflight(allowed)
            route = methods.get("GET" if method == "HEAD" else method)
            if route is None:
                return error_response(405, "METHOD_NOT_ALLOWED",
                                      f"{method} is not allowed on {path}",
                                      Allow=", ".join(allowed))
            denied = self._authorize(route, request)
            if denied is not None:
                return denied
            if (request.content_length or 0) > MAX_PAYLOAD:
                return error_response(413, "PAYLOAD_TOO_LARGE",
                                      f"request body over {MAX_PAYLOAD} bytes")
            try:
                body = await asyncio.wait_for(request.read(), self.request_timeout_s)
            except web.HTTPRequestEntityTooLarge:
                return error_response(413, "PAYLOAD_TOO_LARGE",
                                      f"request body over {MAX_PAYLOAD} bytes")
            except TimeoutError:  # a body sent a byte at a time must not hold a worker
                return error_response(408, "REQUEST_TIMEOUT",
                                      f"the body did not arrive within "
                                      f"{self.request_timeout_s:g} s", Connection="close")
            # aiohttp sends a HEAD answer's headers (Content-Length included) without its body.
            return await self._invoke(route, request, body)

        return endpoint

    def function(self, target: str) -> Function:
        with self._functions_lock:
            if target not in self._functions:
                self._functions[target] = Function(target, self.containers)
            return self._functions[target]

    def _preflight(self, allowed: list[str]) -> web.Response:
        return web.Response(status=204, headers={
            "Access-Control-Allow-Origin": self.cors_origin,
            "Access-Control-Allow-Methods": ",".join(allowed),
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": "600",
            "Allow": ", ".join(allowed),
        })

    def _authorize(self, route: Route, request: web.Request) -> web.Response | None:
        if route.auth == "api_key":
            key = request.headers.get("x-api-key", "")
            if not hmac.compare_digest(key.encode(), self.api_key.encode()):
                return error_response(403, "FORBIDDEN", "missing or invalid x-api-key header")
        elif route.auth == "user" and self._user(request) is None:
            return error_response(401, "UNAUTHORIZED",
                                  "sign in: send Authorization: Bearer <ROBOT_API_TOKEN>")
        return None

    def _user(self, request: web.Request) -> LocalUser | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return self.users.by_token(token.strip()) if scheme.lower() == "bearer" else None

    async def _invoke(self, route: Route, request: web.Request, body: bytes) -> web.Response:
        self.requests += 1
        request_id = str(uuid.uuid4())
        http = HttpRequest(
            method=request.method if request.method != "HEAD" else "GET",
            path=request.path,
            raw_query=request.query_string,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
            body=body,
            source_ip=request.remote or "127.0.0.1",
            host=request.host,
        )
        user = self._user(request) if route.auth == "user" else None
        authorizer = {"claims": user.claims()} if user is not None else None
        event = to_event(http, route.path, request.match_info, authorizer, request_id)
        context = LambdaContext(function_name=route.handler.replace(":", "."),
                                aws_request_id=request_id)
        function = self.function(route.handler)
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.executor, function.invoke, event, context)
            answer = from_response(result)
        except BadProxyResponse as exc:
            log.error("%s returned a malformed response: %s", route.handler, exc)
            return error_response(502, "BAD_GATEWAY", "Internal server error")
        except Exception:  # a crashed Lambda: API Gateway answers 502 and the log has the trace
            log.error("%s raised:\n%s", route.handler, traceback.format_exc())
            return error_response(502, "BAD_GATEWAY", "Internal server error")
        response = web.Response(status=answer.status, body=answer.body)
        for name, value in answer.headers:
            response.headers.add(name, value)
        if "Access-Control-Allow-Origin" not in response.headers and route.auth == "user":
            response.headers["Access-Control-Allow-Origin"] = self.cors_origin
        return response


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    """Unknown routes and framework errors answer in the project's JSON error shape."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return error_response(404, "NOT_FOUND", f"no route for {request.path}")
    except web.HTTPMethodNotAllowed as exc:
        return error_response(405, "METHOD_NOT_ALLOWED", f"{request.method} not allowed",
                              Allow=", ".join(sorted(exc.allowed_methods)))


SECRET_PARAMS = re.compile(
    r"((?:^|&)(?:token|access_token|id_token|refresh_token|code|password|x-api-key|api_key|"
    r"apikey|key|X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential)=)[^&]*",
    re.IGNORECASE)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with control characters escaped: a ``%0a`` in a URL cannot forge a log line."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def redact_query(query: str) -> str:
    """The query string with secrets (tokens, signatures) masked, safe to log."""
    return SECRET_PARAMS.sub(r"\1***", query)


@web.middleware
async def access_log(request: web.Request, handler) -> web.StreamResponse:
    """One line per request: method, path, status, milliseconds."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # e.g. a refused WebSocket handshake: 401, not 500
        status = exc.status
        raise
    finally:
        ms = (time.perf_counter() - started) * 1000
        query = f"?{redact_query(request.query_string)}" if request.query_string else ""
        logging.getLogger("stack.http").info("%s %s %d %.1fms", printable(request.method),
                                             printable(request.path + query), status, ms)
