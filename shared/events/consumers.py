"""Named, durable consumers of the bus: at-least-once delivery, retries with back-off, and a
parking place (dead letters) for an event that keeps failing.

A handler does its work and commits it itself; once it has done so for a whole
batch, the runner acknowledges the batch.  A process that dies in between is
given the batch again on restart, so handlers are idempotent (a search document written again, a purge
sent again, a journal entry published again under the same message id).  An
event that fails ``max_attempts`` times is parked in ``dead_letters`` with its
error and the consumer moves on: one poison event does not stop the rest.  A
consumer that must never skip (the relay, which would lose the event for every
consumer behind it) has no ``max_attempts`` and retries until it succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import structlog

from shared.events import metrics
from shared.events.log import Bus, Event, Subscription

log = structlog.get_logger()

Handler = Callable[[Event], Awaitable[None]]
RESTART_DELAY = 1.0
LAG_INTERVAL = 10.0


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@dataclass(frozen=True)
class Consumer:
    name: str
    handle: Handler
    batch_size: int = 100
    max_attempts: int | None = 5  # None: retry until it succeeds, never park
    backoff: float = 0.5  # seconds before the first retry; doubled each time
    max_backoff: float = 30.0
    # Where a consumer that has never run starts: at serial 0 (one that builds state from the whole
    # journal), or after the newest entry (one that only reacts to changes, like the purger).
    start: Literal["beginning", "head"] = "beginning"


class ConsumerRunner:
    def __init__(self, consumer: Consumer, *, bus: Bus,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.consumer = consumer
        self.bus = bus
        self._sleep = sleep
        self._subscription: Subscription | None = None

    async def run_once(self, *, timeout: float = 0.0) -> int:
        """Deliver one batch, waiting up to ``timeout`` for one; return how many events it held."""
        if self._subscription is None:
            if self.consumer.start == "head":
                await self.bus.cursors.start_at_head(self.consumer.name)
            self._subscription = await self.bus.subscribe(self.consumer.name)
        events = await self._subscription.fetch(limit=self.consumer.batch_size, timeout=timeout)
        for event in events:
            await self._deliver(event)
        if events:
            # One cursor write a batch, not one an event (a commit each caps a consumer at a few hundred
            # events a second); a process that dies mid-batch is given the whole batch again.
            await self._subscription.ack(events[-1])
        return len(events)

    async def run(self, stop: asyncio.Event, *, idle_wait: float = 5.0) -> None:
        """Consume until ``stop`` is set, waiting up to ``idle_wait`` for new events when caught up."""
        while not stop.is_set():
            await self.run_once(timeout=idle_wait)

    async def run_supervised(self, stop: asyncio.Event, *, idle_wait: float = 1.0,
                             restart_delay: float = RESTART_DELAY, lag_interval: float = LAG_INTERVAL) -> None:
        """``run``, started again after a failure (the database or NATS restarting, say): the failure
        is logged and retried, never left to end the consumer silently while the rest carries on.
        Meanwhile the consumer's lag is published as metrics every ``lag_interval`` seconds."""
        reporting = asyncio.create_task(self._report_lag(stop, lag_interval))
        try:
            while not stop.is_set():
                try:
                    await self.run(stop, idle_wait=idle_wait)
                except Exception:  # noqa: BLE001 - whatever stopped it, log it and start again
                    log.exception("worker_failed", consumer=self.consumer.name)
                    await self.aclose()  # a fresh subscription: what was fetched and not acked comes again
                    await _wait(stop, restart_delay)
        finally:
            reporting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporting

    async def _report_lag(self, stop: asyncio.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                for status in await self.bus.cursors.status([self.consumer.name]):
                    if status.name == self.consumer.name:
                        metrics.record_status(status)
            except Exception as exc:  # noqa: BLE001 - a metric is not worth stopping the consumer for
                log.warning("lag_unknown", consumer=self.consumer.name, error=repr(exc))
            await _wait(stop, interval)

    async def aclose(self) -> None:
        if self._subscription is not None:
            await self._subscription.aclose()
            self._subscription = None

    async def _deliver(self, event: Event) -> None:
        consumer, delay, attempt = self.consumer, self.consumer.backoff, 0
        while True:
            attempt += 1
            try:
                await consumer.handle(event)
                metrics.EVENTS.labels(consumer.name, "handled").inc()
                return
            except Exception as exc:  # noqa: BLE001 - any failure of a handler is retried, then parked
                metrics.EVENTS.labels(consumer.name, "failed").inc()
                log.warning("consumer_failed", consumer=consumer.name, serial=event.serial, attempt=attempt,
                            error=repr(exc))
                if consumer.max_attempts is not None and attempt >= consumer.max_attempts:
                    await self.bus.cursors.park(consumer.name, event, attempts=attempt, error=repr(exc))
                    metrics.EVENTS.labels(consumer.name, "parked").inc()
                    log.error("event_parked", consumer=consumer.name, serial=event.serial)
                    return
                await self._sleep(delay)
                delay = min(delay * 2, consumer.max_backoff)
