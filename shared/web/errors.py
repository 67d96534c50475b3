"""Rendering errors: JSON ``{"error": {"code", "message", "details"}}``, or plain text
on the endpoints PyPI clients call (twine prints the body)."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from shared.errors import AppError
from shared.web.cache import NO_STORE

log = structlog.get_logger()

PlainTextPredicate = Callable[[Request], bool]


def _render(
    request: Request, *, status: int, code: str, message: str, details: dict, headers: dict[str, str], plain: bool
) -> Response:
    headers = {**NO_STORE, **headers}
    if plain:
        return PlainTextResponse(message + "\n", status_code=status, headers=headers)
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI, *, plain_text: PlainTextPredicate = lambda _r: False) -> None:
    async def on_app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        if exc.status_code >= 500:
            log.error("app_error", code=exc.code, message=exc.message)
        return _render(
            request, status=exc.status_code, code=exc.code, message=exc.message,
            details=exc.details, headers=exc.headers, plain=plain_text(request),
        )

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors) or "Invalid request"
        return _render(
            request, status=422, code="ValidationFailed", message=message,
            details={"errors": errors}, headers={}, plain=plain_text(request),
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail)
        return _render(
            request, status=exc.status_code, code="HTTPError", message=message,
            details={}, headers=dict(exc.headers or {}), plain=plain_text(request),
        )

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
