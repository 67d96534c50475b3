"""The error shape of DESIGN.md and the request-id middleware, on a small app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from shared.errors import AppError, ConflictError
from shared.web.app import new_app


@asynccontextmanager
async def _noop(_app: FastAPI) -> AsyncIterator[None]:
    yield


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = new_app(title="t", service="t", lifespan=_noop, plain_text=lambda r: r.url.path.startswith("/plain"))

    @app.get("/conflict")
    async def conflict() -> None:
        raise ConflictError("It clashes", details={"with": "x"})

    @app.get("/plain")
    async def plain() -> None:
        raise ConflictError("It clashes")

    @app.get("/broken")
    async def broken() -> None:
        raise AppError("Storage is down")

    @app.get("/typed/{n}")
    async def typed(n: int) -> dict[str, int]:
        return {"n": n}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield http


async def test_json_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/conflict")
    assert response.status_code == 409
    assert response.json() == {"error": {"code": "Conflict", "message": "It clashes", "details": {"with": "x"}}}
    assert response.headers["cache-control"] == "no-store"  # errors are never cached


async def test_plain_text_errors_where_clients_print_the_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/plain")
    assert response.status_code == 409 and response.text == "It clashes\n"
    assert response.headers["content-type"].startswith("text/plain")


async def test_server_side_app_error_is_a_500_with_the_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/broken")
    assert response.status_code == 500 and response.json()["error"]["code"] == "App"


async def test_request_validation_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/typed/abc")
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "ValidationFailed" and "path.n" in body["message"]


async def test_unknown_route_uses_the_shape_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404 and response.json()["error"]["code"] == "HTTPError"


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/livez", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/livez", headers={"X-Request-ID": "<script>"})
    assert made.headers["x-request-id"] != "<script>" and len(made.headers["x-request-id"]) == 32


@pytest.mark.parametrize("url", ["/typed/1%00", "/typed/1?q=a%00b"])
async def test_nul_in_path_or_query_is_a_400_before_any_route(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]["message"]
    assert response.headers["x-request-id"] and response.headers["cache-control"] == "no-store"


async def test_client_address_is_available_to_the_audit_log() -> None:
    from shared.audit import client_ip

    seen: list[str | None] = []
    app = new_app(title="t", service="t", lifespan=_noop)

    @app.get("/where")
    async def where() -> None:
        seen.append(client_ip.get())

    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        await http.get("/where")
    assert seen == ["203.0.113.7"] and client_ip.get() is None
