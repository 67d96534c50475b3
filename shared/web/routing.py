"""One database unit of work per request, committed by the route layer (STYLE §3).

A write dependency stores its session on ``request.state.write_session``;
``AutoCommitRoute`` commits it after the handler returns and before the
response is sent, so the client never sees success for a change that did not
commit.  On an error nothing is committed; the dependency's teardown closes
(and so rolls back) the session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


class AutoCommitRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def commit_then_respond(request: Request) -> Response:
            response = await handler(request)
            session = getattr(request.state, "write_session", None)
            if session is not None and response.status_code < 400:
                await session.commit()
                request.state.committed = True  # what follows the commit (e.g. email) may now go out
            return response

        return commit_then_respond
