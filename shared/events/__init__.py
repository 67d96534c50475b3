"""The journal (the outbox every consumer follows) and, later, the bus adapters."""

from shared.events.journal import JournalAction, record_event

__all__ = ["JournalAction", "record_event"]
