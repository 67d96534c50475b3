"""Choosing the bus for a deployment: the database log (default) or NATS JetStream."""

from __future__ import annotations

from shared.config import SharedSettings
from shared.db import Database
from shared.events.log import POLL_INTERVAL, Bus, DatabaseBus


def open_bus(settings: SharedSettings, db: Database, *, poll_interval: float = POLL_INTERVAL) -> Bus:
    if settings.bus == "nats":
        from shared.events.jetstream import JetStreamBus  # only deployments on NATS load its client

        return JetStreamBus(settings, db)
    return DatabaseBus(db, poll_interval=poll_interval)
