"""The journal (the outbox every consumer follows), the database-log adapter of the bus,
and the consumer framework."""

from shared.events.consumers import Consumer, ConsumerRunner, ConsumerStatus, CursorStore
from shared.events.journal import JournalAction, record_event
from shared.events.log import DatabaseLog, Event, EventSource

__all__ = [
    "Consumer",
    "ConsumerRunner",
    "ConsumerStatus",
    "CursorStore",
    "DatabaseLog",
    "Event",
    "EventSource",
    "JournalAction",
    "record_event",
]
