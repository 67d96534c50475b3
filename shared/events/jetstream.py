"""The NATS JetStream adapter of the bus, and the publishing side the relay uses.

The journal stays the outbox and Postgres the source of truth.  The relay
(``shared/events/relay.py``) follows the journal like any database-log consumer
and publishes each entry to one stream subject with its serial as
``Nats-Msg-Id``, so a relay that dies after publishing and before recording it
publishes the entry again and JetStream drops the copy (within the stream's
duplicate window; beyond it the relay also skips what the stream already ends
with).  One subject keeps the stream in serial order.

Workers are durable pull consumers with explicit acknowledgement.  A consumer's
cursor in ``consumer_cursors`` moves after its handler's work is committed and
before the JetStream ack, and anything at or below the cursor is acknowledged
unseen: redeliveries after a lost ack never reach a handler twice, and a
consumer can move between this adapter and the database log without handling an
event again.  Run one process per consumer, as with the database log: a pull
consumer shared by two processes would hand them events out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import nats
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from shared.config import SharedSettings
from shared.db import Database
from shared.events.cursors import CursorStore
from shared.events.log import Event

log = structlog.get_logger()

MSG_ID = "Nats-Msg-Id"
DUPLICATE_WINDOW = 3600.0  # seconds JetStream remembers message ids
ACK_WAIT = 300.0  # seconds before an unacknowledged event is delivered again (a handler's retries fit in it)
MAX_ACK_PENDING = 1000
MIN_FETCH_WAIT = 0.05  # seconds: a pull needs a wait; "what is there now" waits this long when there is nothing
REQUEST_TIMEOUT = 5.0


class JetStreamBus:
    def __init__(self, settings: SharedSettings, db: Database, *, ack_wait: float = ACK_WAIT,
                 cursors: CursorStore | None = None) -> None:
        self.url = settings.nats_url
        self.stream = settings.nats_stream
        self.subject = settings.nats_subject
        self.replicas = settings.nats_replicas
        self.max_age = float(settings.nats_max_age)
        self.ack_wait = ack_wait
        self.cursors = cursors or CursorStore(db)
        self._client: Client | None = None
        self._jetstream: JetStreamContext | None = None
        self._lock = asyncio.Lock()
        self._closing = False

    async def jetstream(self) -> JetStreamContext:
        """Connected, with the stream in place; connecting again after a failed first try.

        Once connected, the client reconnects by itself for as long as it takes, and
        requests made meanwhile time out (the caller retries them).
        """
        async with self._lock:
            if self._jetstream is None:
                client = await nats.connect(
                    self.url, name="wheelhouse", connect_timeout=2, reconnect_time_wait=0.5,
                    max_reconnect_attempts=-1, error_cb=_on_error, disconnected_cb=self._on_disconnect,
                    reconnected_cb=_on_reconnect,
                )
                try:
                    jetstream = client.jetstream(timeout=REQUEST_TIMEOUT)
                    await self._ensure_stream(jetstream)
                except BaseException:
                    await client.close()
                    raise
                self._client, self._jetstream = client, jetstream
            return self._jetstream

    async def _ensure_stream(self, jetstream: JetStreamContext) -> None:
        config = StreamConfig(
            name=self.stream, subjects=[self.subject], storage=StorageType.FILE, num_replicas=self.replicas,
            max_age=self.max_age, duplicate_window=min(DUPLICATE_WINDOW, self.max_age),
        )
        try:
            await jetstream.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            await jetstream.add_stream(config)
        else:
            await jetstream.update_stream(config)

    async def publish(self, event: Event) -> bool:
        """Append ``event`` to the stream; True when the stream already held it (a duplicate)."""
        jetstream = await self.jetstream()
        ack = await jetstream.publish(self.subject, json.dumps(event.as_dict()).encode(), stream=self.stream,
                                      headers={MSG_ID: str(event.serial)}, timeout=REQUEST_TIMEOUT)
        return bool(ack.duplicate)

    async def last_published_serial(self) -> int:
        """The serial of the stream's newest entry (0 when it is empty)."""
        jetstream = await self.jetstream()
        info = await jetstream.stream_info(self.stream)
        if not info.state.messages:
            return 0
        message = await jetstream.get_msg(self.stream, seq=info.state.last_seq)
        return int((message.headers or {}).get(MSG_ID, 0))

    async def subscribe(self, consumer: str) -> JetStreamSubscription:
        subscription = JetStreamSubscription(consumer, self)
        await subscription.place()
        return subscription

    async def sequence_after(self, serial: int) -> int:
        """The stream sequence of the first entry with a serial above ``serial`` (or of the next to come).
        The stream is in serial order, so it is found by bisecting."""
        jetstream = await self.jetstream()
        state = (await jetstream.stream_info(self.stream)).state
        low, high = state.first_seq, state.last_seq + 1
        if not state.messages:
            return high
        while low < high:
            middle = (low + high) // 2
            try:
                message = await jetstream.get_msg(self.stream, seq=middle)
                found = int((message.headers or {}).get(MSG_ID, 0))
            except nats.js.errors.NotFoundError:  # aged out meanwhile: older than anything kept
                found = 0
            if found <= serial:
                low = middle + 1
            else:
                high = middle
        return low

    async def _on_disconnect(self) -> None:
        if not self._closing:  # closing disconnects too: not worth a warning
            log.warning("nats_disconnected", url=self.url)

    async def aclose(self) -> None:
        if self._client is not None:
            self._closing = True
            with contextlib.suppress(Exception):  # closing a connection that is already gone
                await self._client.close()
            self._client = self._jetstream = None
            self._closing = False


class JetStreamSubscription:
    """A durable pull consumer, delivering in stream order or not at all.

    JetStream redelivers an event that a dead process fetched, or that was lost
    on the way, only after the ack wait — behind newer events already handled.
    So the subscription checks that stream sequences arrive without a gap, and
    when one is missing (and when it starts) it places the consumer again just
    after its cursor: every event reaches the handler, in serial order, and
    anything at or below the cursor is acknowledged unseen.
    """

    def __init__(self, name: str, bus: JetStreamBus) -> None:
        self.name = name
        self.bus = bus
        self.cursors = bus.cursors
        self._pull: JetStreamContext.PullSubscription | None = None
        self._next_sequence = 0
        self._unacked: dict[int, Msg] = {}

    async def place(self) -> None:
        """(Re)create the durable consumer to start with the first event after the cursor."""
        jetstream = await self.bus.jetstream()
        await self._unbind()
        start = await self.bus.sequence_after(await self.cursors.position(self.name))
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await jetstream.delete_consumer(self.bus.stream, self.name)
        await jetstream.add_consumer(self.bus.stream, ConsumerConfig(
            durable_name=self.name, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start, ack_wait=self.bus.ack_wait, max_deliver=-1, max_ack_pending=MAX_ACK_PENDING,
            filter_subject=self.bus.subject,
        ))
        self._pull = await jetstream.pull_subscribe_bind(durable=self.name, stream=self.bus.stream)
        self._next_sequence = start

    async def fetch(self, *, limit: int, timeout: float) -> list[Event]:
        if self._pull is None:
            await self.place()
        messages = await self._pull_messages(limit, timeout)
        position = await self.cursors.position(self.name)
        events = []
        for message in messages:
            sequence = message.metadata.sequence.stream
            if sequence > self._next_sequence:  # one before it is missing: start again from the cursor
                log.warning("jetstream_gap", consumer=self.name, expected=self._next_sequence, got=sequence)
                self._unacked.clear()
                await self.place()
                return []
            if sequence < self._next_sequence:  # delivered again after an ack that was lost
                await message.ack()
                continue
            self._next_sequence = sequence + 1
            event = Event.from_dict(json.loads(message.data))
            if event.serial <= position:  # handled before, or carried by the database log before
                await message.ack()
                continue
            self._unacked[event.serial] = message
            events.append(event)
        return events

    async def _pull_messages(self, limit: int, timeout: float) -> list[Msg]:
        """What is there now, up to ``limit``; else wait up to ``timeout`` for the next one.

        A pull of many with a long wait would, once one event came, wait out the whole
        ``timeout`` for the rest of the batch: a quiet index would see each event late.
        """
        assert self._pull is not None
        try:  # nats-py raises its own TimeoutError or asyncio's, depending on where the wait ended
            return await self._pull.fetch(batch=limit, timeout=MIN_FETCH_WAIT)
        except TimeoutError:
            if timeout <= MIN_FETCH_WAIT:
                return []
        try:
            return await self._pull.fetch(batch=1, timeout=timeout)
        except TimeoutError:
            return []

    async def ack(self, event: Event) -> None:
        await self.cursors.advance(self.name, event.serial)
        for serial in [serial for serial in self._unacked if serial <= event.serial]:
            await self._unacked.pop(serial).ack()

    async def aclose(self) -> None:
        self._unacked.clear()  # the next subscription starts from the cursor, whatever JetStream thinks
        await self._unbind()

    async def _unbind(self) -> None:
        if self._pull is not None:
            with contextlib.suppress(Exception):  # the connection may be gone
                await self._pull.unsubscribe()
            self._pull = None


async def _on_error(error: Exception) -> None:
    log.warning("nats_error", error=repr(error))


async def _on_reconnect() -> None:
    log.info("nats_reconnected")

