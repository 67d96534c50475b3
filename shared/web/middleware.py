"""Pure ASGI middleware (never ``BaseHTTPMiddleware``): a request id on every
request and response, one log line per request, and its metrics."""

from __future__ import annotations

import json
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.audit import client_ip
from shared.metrics import HTTP_IN_PROGRESS, observe_request

log = structlog.get_logger()

REQUEST_ID_HEADER = b"x-request-id"


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            text = value.decode("latin-1")[:64]
            if text.replace("-", "").isalnum():
                return text
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """The request id (taken from ``X-Request-ID`` when a proxy set a sane one), bound to every log
    line of the request; then one ``request`` line and the request's metrics, by route template."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        client = scope.get("client")
        ip_token = client_ip.set(client[0][:45] if client else None)
        in_progress = HTTP_IN_PROGRESS.labels(self.service)
        in_progress.inc()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                in_progress.dec()
                seconds = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", None)
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    client=client_ip.get(),  # after the trusted proxies' X-Forwarded-For (uvicorn)
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )
                observe_request(service=self.service, method=scope["method"], route=route, status=status,
                                seconds=seconds)
                client_ip.reset(ip_token)


NUL_MESSAGE = "The request's path or query contains a NUL character (%00); no name in this index can contain one."


class RejectNulMiddleware:
    """400 for a path or query string holding NUL: no project, version, file or user name can
    contain one, and Postgres refuses such text outright (it would surface as a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")):
            body = json.dumps({"error": {"code": "BadRequest", "message": NUL_MESSAGE, "details": {}}}).encode()
            await send({"type": "http.response.start", "status": 400, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
