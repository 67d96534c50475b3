"""Limits more than one service enforces (each service keeps its own others)."""

from __future__ import annotations

from datetime import timedelta

from shared.ratelimit.base import RateLimit

# New projects per user, whether by a first upload or by registering a pending trusted publisher.
PROJECT_CREATION = RateLimit("project-create-user", 20, timedelta(hours=1))
TOO_MANY_PROJECTS = "Too many new projects created recently."
