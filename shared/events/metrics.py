"""The consumers' metrics: lag in serials and seconds, parked events, and what each handled.

Lag is read from the cursors in the database (``CursorStore.status``), the same
figures ``wheelhouse worker status`` prints, so it means the same on both
adapters: how far the consumer's committed work is behind the journal.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from shared.events.cursors import ConsumerStatus

LAG_SERIALS = Gauge("wheelhouse_consumer_lag_serials", "Journal entries not yet consumed", ["consumer"])
LAG_SECONDS = Gauge("wheelhouse_consumer_lag_seconds", "Age of the oldest journal entry not yet consumed",
                    ["consumer"])
LAST_SERIAL = Gauge("wheelhouse_consumer_last_serial", "The last serial the consumer acknowledged", ["consumer"])
DEAD_LETTERS = Gauge("wheelhouse_consumer_dead_letters", "Events parked after failing every attempt", ["consumer"])
EVENTS = Counter("wheelhouse_consumer_events", "Events delivered to a consumer's handler, by outcome",
                 ["consumer", "outcome"])  # outcome: handled, failed (each failed attempt), parked


def record_status(status: ConsumerStatus) -> None:
    LAG_SERIALS.labels(status.name).set(status.behind_serials)
    LAG_SECONDS.labels(status.name).set(status.behind_seconds)
    LAST_SERIAL.labels(status.name).set(status.last_serial)
    DEAD_LETTERS.labels(status.name).set(status.dead_letters)
