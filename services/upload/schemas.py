from __future__ import annotations

from pydantic import BaseModel, Field


class YankRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=1000)


class ReleasePublic(BaseModel):
    project: str
    version: str
    yanked: bool
    yanked_reason: str | None
