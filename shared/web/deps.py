"""Dependencies every service's ``deps.py`` builds its ``Annotated`` aliases from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from shared.auth.service import Identity, authenticate_token, record_token_use, token_from_authorization
from shared.db import Database, ReadSession, WriteSession
from shared.storage import BlobStorage


def get_database(request: Request) -> Database:
    return request.app.state.db


async def get_storage(request: Request) -> BlobStorage:
    return request.app.state.storage


async def get_read_session(request: Request) -> AsyncIterator[ReadSession]:
    async with get_database(request).read_session() as session:
        yield session


async def get_write_session(request: Request) -> AsyncIterator[WriteSession]:
    """The request's unit of work; ``AutoCommitRoute`` commits it before responding."""
    async with get_database(request).write_session() as session:
        request.state.write_session = session
        yield session


ReadDb = Annotated[ReadSession, Depends(get_read_session)]
WriteDb = Annotated[WriteSession, Depends(get_write_session)]
Storage = Annotated[BlobStorage, Depends(get_storage)]


async def get_identity(request: Request, read: ReadDb) -> Identity:
    """UPL-3: resolve the API token before any body is read."""
    secret = token_from_authorization(request.headers.get("authorization"))
    identity = await authenticate_token(read, secret, keys=request.app.state.secret_keys)
    await read.rollback()  # end the read snapshot: the body may take a while to arrive
    await record_token_use(get_database(request), identity)
    return identity


CurrentIdentity = Annotated[Identity, Depends(get_identity)]
