"""The journal (the outbox every consumer follows), the bus that carries it to consumers — the
database log by default, NATS JetStream at scale — and the consumer framework."""

from shared.events.consumers import Consumer, ConsumerRunner
from shared.events.cursors import ConsumerStatus, CursorStore
from shared.events.journal import JournalAction, record_event
from shared.events.log import Bus, DatabaseBus, DatabaseLog, Event, Subscription

__all__ = [
    "Bus",
    "Consumer",
    "ConsumerRunner",
    "ConsumerStatus",
    "CursorStore",
    "DatabaseBus",
    "DatabaseLog",
    "Event",
    "JournalAction",
    "Subscription",
    "record_event",
]
