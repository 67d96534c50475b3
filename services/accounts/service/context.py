"""What the account use cases need besides a database session, built once per process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog

from services.accounts.mail import EmailSender, OutgoingEmail
from shared.config import AccountsSettings

log = structlog.get_logger()


class Notifier:
    """Sends email in the background, so that no answer's timing depends on whether
    a message was sent (a password reset must not reveal that an account exists),
    and a slow mail server never holds a request open.  Failures are logged."""

    def __init__(self, sender: EmailSender) -> None:
        self.sender = sender
        self._pending: set[asyncio.Task[None]] = set()
        self._one_at_a_time = asyncio.Lock()  # fair: messages leave in the order they were sent

    def send(self, message: OutgoingEmail) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(message))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, message: OutgoingEmail) -> None:
        try:
            async with self._one_at_a_time:
                await self.sender.send(message)
        except Exception as exc:  # noqa: BLE001 - a lost email is logged, never raised into a request
            log.error("email_failed", to=message.to, subject=message.subject, error=str(exc))

    async def drain(self) -> None:
        """Wait for every message in flight (on shutdown, and in tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


class Postbox:
    """A request's outgoing email, held until the request's transaction has committed:
    a change that rolls back sends nothing."""

    def __init__(self) -> None:
        self.held: list[OutgoingEmail] = []

    def send(self, message: OutgoingEmail) -> None:
        self.held.append(message)

    def forward(self, notifier: Notifier) -> None:
        for message in self.held:
            notifier.send(message)
        self.held.clear()


@dataclass(frozen=True)
class AccountsContext:
    settings: AccountsSettings
    keys: tuple[bytes, ...]  # the suite's secret keys, current first
    notifier: Notifier | Postbox = field(compare=False)

    @property
    def signing_key(self) -> bytes:
        return self.keys[0]

    def link(self, base_url: str, path: str) -> str:
        """An absolute link for an email: the configured public URL, else the request's origin."""
        root = (self.settings.public_url or base_url).rstrip("/")
        return root + path
