"""Outgoing email: one Protocol, four backends, picked by settings.

:func:`open_email_sender` builds the backend ``WHEELHOUSE_EMAIL_BACKEND`` names:

* ``file`` → :class:`FileEmailSender`, the embedded default: each message becomes
  one RFC 5322 ``.eml`` file in ``email_dir`` (``<data_dir>/mail``), where an
  operator (or a test, through :func:`read_messages`) finds the links it carries.
* ``console`` → :class:`ConsoleEmailSender`, which logs the message; development only.
* ``smtp`` → :class:`SmtpEmailSender`, stdlib :mod:`smtplib` in a worker thread.

:class:`MemoryEmailSender` keeps messages in a list, for tests of other modules.
Every blocking call (files, sockets, TLS setup) runs in :func:`asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import email.policy
import os
import smtplib
import ssl
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol, cast, runtime_checkable

import structlog
from pydantic import SecretStr

from shared.config import AccountsSettings
from shared.errors import AppError

SmtpSecurity = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class OutgoingEmail:
    """A plain-text message to one recipient."""

    to: str
    subject: str
    body: str


@runtime_checkable
class EmailSender(Protocol):
    async def send(self, message: OutgoingEmail) -> None:
        """Deliver ``message`` or raise :class:`EmailDeliveryError`."""
        ...


class EmailDeliveryError(AppError):
    """The mail server could not be reached or refused the message (503)."""

    status_code = 503


def build_message(message: OutgoingEmail, *, from_addr: str) -> EmailMessage:
    """The RFC 5322 form of ``message``: From, To, Subject, Date, Message-ID and a UTF-8
    text/plain body (non-ASCII headers are RFC 2047-encoded; a final newline is added if missing)."""
    built = EmailMessage()
    built["From"] = from_addr
    built["To"] = message.to
    built["Subject"] = message.subject
    built["Date"] = format_datetime(datetime.now(UTC))
    # An explicit domain: make_msgid() would otherwise resolve the host's FQDN.
    built["Message-ID"] = make_msgid(domain=_domain_of(from_addr))
    built.set_content(message.body)
    return built


def _domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


class FileEmailSender:
    """Writes each message to ``<directory>/<UTC timestamp>-<uuid>.eml`` (mode 0600: the
    files hold login links). The directory is created on first use; a file appears
    whole or not at all (temp file in the same directory, fsync, :func:`os.replace`)."""

    def __init__(self, directory: Path, *, from_addr: str) -> None:
        self.directory = Path(directory)
        self.from_addr = from_addr

    async def send(self, message: OutgoingEmail) -> None:
        built = build_message(message, from_addr=self.from_addr)
        await asyncio.to_thread(_write_eml, self.directory, built)


def _write_eml(directory: Path, message: EmailMessage) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = directory / f"{stamp}-{uuid.uuid4().hex}.eml"
    fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(message.as_bytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def read_messages(directory: Path) -> list[EmailMessage]:
    """The ``.eml`` files :class:`FileEmailSender` wrote, oldest first (sorted by name);
    ``[]`` when the directory does not exist. Blocking: for tests and the CLI."""
    parser = BytesParser(policy=email.policy.default)
    messages: list[EmailMessage] = []
    for path in sorted(Path(directory).glob("*.eml")):
        with path.open("rb") as file:
            # policy.default makes the parser build EmailMessage objects.
            messages.append(cast(EmailMessage, parser.parse(file)))
    return messages


class ConsoleEmailSender:
    """Logs each message as one ``email_sent`` event, body included.

    For development only: nothing is delivered, and the log then holds login and
    password-reset links in clear text.
    """

    def __init__(self, *, from_addr: str) -> None:
        self.from_addr = from_addr

    async def send(self, message: OutgoingEmail) -> None:
        # Looked up per call so that a logger cached before capture_logs() cannot hide the event.
        structlog.get_logger(__name__).info(
            "email_sent",
            from_addr=self.from_addr,
            to=message.to,
            subject=message.subject,
            body=message.body,
        )


class SmtpEmailSender:
    """Delivers through an SMTP server with :mod:`smtplib`, in a worker thread.

    ``security``: ``"tls"`` connects with implicit TLS (``SMTP_SSL``, usually port 465),
    ``"starttls"`` upgrades a plain connection (usually port 587), ``"none"`` sends in
    clear (a local relay). Certificates are verified against the system's trust store.
    It logs in when ``username`` is set. Failures raise :class:`EmailDeliveryError`,
    whose message names the server and the cause, never the password.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_addr: str,
        username: str | None = None,
        password: str | SecretStr | None = None,
        security: SmtpSecurity = "none",
        timeout: float = 10.0,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"unknown SMTP security {security!r}; expected none, starttls or tls")
        self.host = host
        self.port = port
        self.from_addr = from_addr
        self.username = username
        self._password = SecretStr(password) if isinstance(password, str) else password
        self.security = security
        self.timeout = timeout

    async def send(self, message: OutgoingEmail) -> None:
        built = build_message(message, from_addr=self.from_addr)
        try:
            await asyncio.to_thread(self._deliver, built)
        except (smtplib.SMTPException, OSError) as exc:
            raise EmailDeliveryError(
                f"could not send email through SMTP server {self.host}:{self.port}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _deliver(self, message: EmailMessage) -> None:
        with self._connect() as client:
            if self.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username is not None:
                self._login(client)
            client.send_message(message)

    def _login(self, client: smtplib.SMTP) -> None:
        password = self._password.get_secret_value() if self._password else ""
        try:
            client.login(self.username or "", password)
        except UnicodeEncodeError:
            # smtplib encodes credentials as ASCII; say so rather than leak a UnicodeError.
            raise smtplib.SMTPException("the SMTP username and password must be ASCII") from None

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


class MemoryEmailSender:
    """Keeps every message in :attr:`outbox`, oldest first; for tests."""

    def __init__(self) -> None:
        self.outbox: list[OutgoingEmail] = []

    async def send(self, message: OutgoingEmail) -> None:
        self.outbox.append(message)


def open_email_sender(settings: AccountsSettings) -> EmailSender:
    """The backend ``settings.email_backend`` names (see the module docstring)."""
    if settings.email_backend == "console":
        return ConsoleEmailSender(from_addr=settings.email_from)
    if settings.email_backend == "smtp":
        return SmtpEmailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_addr=settings.email_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
            timeout=settings.smtp_timeout,
        )
    directory = settings.email_dir or settings.data_dir / "mail"
    return FileEmailSender(directory, from_addr=settings.email_from)
