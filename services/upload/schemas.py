from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class YankRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=1000)


class ReleasePublic(BaseModel):
    project: str
    version: str
    yanked: bool
    yanked_reason: str | None


class ProjectStatusUpdate(BaseModel):
    """PEP 792 project status markers."""

    status: Literal["active", "archived", "deprecated", "quarantined"]
    reason: str | None = Field(default=None, max_length=1000)


class ProjectStatusPublic(BaseModel):
    project: str
    status: str
    reason: str | None
