"""One contract for every EmailSender (file, memory, SMTP against a real aiosmtpd
server on loopback), then what each backend adds and how settings pick one."""

from __future__ import annotations

import asyncio
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from services.accounts.mail import (
    ConsoleEmailSender,
    EmailDeliveryError,
    EmailSender,
    FileEmailSender,
    MemoryEmailSender,
    OutgoingEmail,
    SmtpEmailSender,
    open_email_sender,
    read_messages,
)
from shared.config import AccountsSettings
from shared.net import free_port

FROM = "Wheelhouse <noreply@wheelhouse.test>"
MESSAGE = OutgoingEmail(
    to="elodie@example.org",
    subject="Vérifiez votre adresse e-mail – Wheelhouse",
    body="Bonjour Élodie,\n\nVérifiez votre adresse : https://wheelhouse.test/verify?token=abc.DEF_123\n\n— Wheelhouse\n",
)
LOGIN = "mailer"
PASSWORD = "s3cret-password"
EML_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{32}\.eml$")

Delivered = tuple[str, str, str]  # to, subject, body


# --- a real SMTP server on loopback -------------------------------------------------------------


@dataclass
class SmtpRecorder:
    """aiosmtpd handler and authenticator: keeps what the server received."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=(login, password) == (LOGIN, PASSWORD), handled=False)

    def messages(self) -> list[EmailMessage]:
        parser = BytesParser(policy=default_policy)
        return [parser.parsebytes(_as_bytes(envelope.content)) for envelope in self.envelopes]


def _as_bytes(content: bytes | str | None) -> bytes:
    assert isinstance(content, bytes)  # decode_data=False: the server keeps the raw bytes
    return content


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    recorder: SmtpRecorder


@contextmanager
def _running_smtp_server(recorder: SmtpRecorder, **smtp_options: Any) -> Iterator[SmtpServer]:
    """aiosmtpd runs its own loop in its own thread; start() returns once it accepts connections."""
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), **smtp_options)
    controller.start()
    try:
        yield SmtpServer(controller.hostname, controller.port, recorder)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with _running_smtp_server(SmtpRecorder()) as server:
        yield server


@pytest.fixture
def auth_smtp_server() -> Iterator[SmtpServer]:
    """Offers AUTH PLAIN/LOGIN over plain loopback (auth_require_tls=False); the recorder
    checks the credentials. Not auth_required: aiosmtpd warns about that without TLS."""
    recorder = SmtpRecorder()
    with _running_smtp_server(recorder, authenticator=recorder.authenticate, auth_require_tls=False) as server:
        yield server


def _smtp_sender(server: SmtpServer, **options: Any) -> SmtpEmailSender:
    return SmtpEmailSender(host=server.host, port=server.port, from_addr=FROM, **options)


def _fields(message: EmailMessage) -> Delivered:
    # SMTP carries lines as CRLF (RFC 5321); a mail client shows them as plain newlines.
    body = message.get_content().replace("\r\n", "\n")
    return str(message["To"]), str(message["Subject"]), body


# --- the contract -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Harness:
    sender: EmailSender
    delivered: Callable[[], list[Delivered]]


@pytest.fixture(params=["file", "memory", "smtp"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    if request.param == "file":
        directory = tmp_path / "mail"
        return Harness(
            FileEmailSender(directory, from_addr=FROM),
            lambda: [_fields(message) for message in read_messages(directory)],
        )
    if request.param == "memory":
        memory = MemoryEmailSender()
        return Harness(memory, lambda: [(m.to, m.subject, m.body) for m in memory.outbox])
    server: SmtpServer = request.getfixturevalue("smtp_server")
    return Harness(
        _smtp_sender(server),
        lambda: [_fields(message) for message in server.recorder.messages()],
    )


class TestEmailSenderContract:
    async def test_implements_protocol(self, harness: Harness) -> None:
        assert isinstance(harness.sender, EmailSender)

    async def test_delivers_recipient_subject_and_body_intact(self, harness: Harness) -> None:
        await harness.sender.send(MESSAGE)

        assert harness.delivered() == [(MESSAGE.to, MESSAGE.subject, MESSAGE.body)]

    async def test_delivers_each_message_in_order(self, harness: Harness) -> None:
        second = OutgoingEmail(to="bob@example.org", subject="Réinitialisez", body="Lien : https://x.test/r\n")

        await harness.sender.send(MESSAGE)
        await harness.sender.send(second)

        assert [to for to, _, _ in harness.delivered()] == [MESSAGE.to, second.to]


# --- backends -----------------------------------------------------------------------------------


class TestFileEmailSender:
    async def test_creates_the_directory_and_one_eml_file_per_message(self, tmp_path: Path) -> None:
        directory = tmp_path / "nested" / "mail"
        sender = FileEmailSender(directory, from_addr=FROM)

        await sender.send(MESSAGE)
        await sender.send(MESSAGE)

        names = sorted(path.name for path in directory.iterdir())
        assert len(names) == 2
        assert all(EML_NAME.match(name) for name in names), names

    async def test_writes_rfc5322_headers(self, tmp_path: Path) -> None:
        await FileEmailSender(tmp_path, from_addr=FROM).send(MESSAGE)

        [message] = read_messages(tmp_path)
        assert message["From"] == FROM
        assert message["To"] == MESSAGE.to
        assert message["Date"].datetime.tzinfo is not None
        assert re.fullmatch(r"<[^@>]+@wheelhouse\.test>", message["Message-ID"])
        assert message.get_content_type() == "text/plain"
        assert message.get_content_charset() == "utf-8"

    async def test_file_is_private_to_the_owner(self, tmp_path: Path) -> None:
        await FileEmailSender(tmp_path, from_addr=FROM).send(MESSAGE)

        [path] = tmp_path.glob("*.eml")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    async def test_read_messages_without_directory_is_empty(self, tmp_path: Path) -> None:
        assert read_messages(tmp_path / "absent") == []

    async def test_read_messages_skips_unfinished_temp_files(self, tmp_path: Path) -> None:
        await FileEmailSender(tmp_path, from_addr=FROM).send(MESSAGE)
        (tmp_path / ".half-written.tmp").write_bytes(b"To: nobody\n")

        assert [_fields(message) for message in read_messages(tmp_path)] == [
            (MESSAGE.to, MESSAGE.subject, MESSAGE.body)
        ]


class TestConsoleEmailSender:
    async def test_logs_email_sent_with_the_body(self) -> None:
        sender = ConsoleEmailSender(from_addr=FROM)

        with structlog.testing.capture_logs() as logs:
            await sender.send(MESSAGE)

        assert logs == [
            {
                "event": "email_sent",
                "log_level": "info",
                "from_addr": FROM,
                "to": MESSAGE.to,
                "subject": MESSAGE.subject,
                "body": MESSAGE.body,
            }
        ]


class TestSmtpEmailSender:
    async def test_envelope_uses_the_from_and_to_addresses(self, smtp_server: SmtpServer) -> None:
        await _smtp_sender(smtp_server).send(MESSAGE)

        [envelope] = smtp_server.recorder.envelopes
        assert envelope.mail_from == "noreply@wheelhouse.test"
        assert envelope.rcpt_tos == [MESSAGE.to]

    async def test_logs_in_when_a_username_is_set(self, auth_smtp_server: SmtpServer) -> None:
        sender = _smtp_sender(auth_smtp_server, username=LOGIN, password=SecretStr(PASSWORD))

        await sender.send(MESSAGE)

        assert auth_smtp_server.recorder.logins == [(LOGIN, PASSWORD)]
        assert [_fields(m) for m in auth_smtp_server.recorder.messages()] == [
            (MESSAGE.to, MESSAGE.subject, MESSAGE.body)
        ]

    async def test_does_not_log_in_without_a_username(self, auth_smtp_server: SmtpServer) -> None:
        await _smtp_sender(auth_smtp_server).send(MESSAGE)

        assert auth_smtp_server.recorder.logins == []
        assert len(auth_smtp_server.recorder.envelopes) == 1

    async def test_rejected_login_raises_without_the_password(self, auth_smtp_server: SmtpServer) -> None:
        sender = _smtp_sender(auth_smtp_server, username=LOGIN, password="wrong-password")

        with pytest.raises(EmailDeliveryError) as caught:
            await sender.send(MESSAGE)

        assert "wrong-password" not in str(caught.value)
        assert set(auth_smtp_server.recorder.logins) == {(LOGIN, "wrong-password")}  # smtplib tries each mechanism
        assert auth_smtp_server.recorder.envelopes == []

    async def test_non_ascii_password_raises_delivery_error(self, auth_smtp_server: SmtpServer) -> None:
        sender = _smtp_sender(auth_smtp_server, username=LOGIN, password="Pässword")

        with pytest.raises(EmailDeliveryError, match="must be ASCII") as caught:
            await sender.send(MESSAGE)

        assert "Pässword" not in str(caught.value)

    async def test_unreachable_server_raises_delivery_error(self) -> None:
        closed_port = free_port()  # bound then released: nothing listens there
        sender = SmtpEmailSender(
            host="127.0.0.1", port=closed_port, from_addr=FROM, username=LOGIN, password=PASSWORD, timeout=2
        )

        with pytest.raises(EmailDeliveryError) as caught:
            await sender.send(MESSAGE)

        assert caught.value.status_code == 503
        assert f"127.0.0.1:{closed_port}" in caught.value.message
        assert PASSWORD not in str(caught.value)
        assert PASSWORD not in repr(sender.__dict__)

    @pytest.mark.parametrize("security", ["tls", "starttls"])
    async def test_tls_against_a_plain_server_raises_delivery_error(
        self, smtp_server: SmtpServer, security: str
    ) -> None:
        # Implicit TLS meets a plaintext greeting; STARTTLS is not offered. Neither falls back to clear text.
        sender = _smtp_sender(smtp_server, security=security, timeout=5)

        with pytest.raises(EmailDeliveryError):
            await sender.send(MESSAGE)

        assert smtp_server.recorder.envelopes == []

    async def test_does_not_block_the_event_loop(self, smtp_server: SmtpServer) -> None:
        smtp_server.recorder.delay = 0.3
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        try:
            await _smtp_sender(smtp_server).send(MESSAGE)
        finally:
            ticker.cancel()
        assert ticks >= 5

    def test_refuses_unknown_security(self) -> None:
        with pytest.raises(ValueError, match="ssl"):
            SmtpEmailSender(host="localhost", port=25, from_addr=FROM, security="ssl")  # type: ignore[arg-type]


# --- picking a backend --------------------------------------------------------------------------


class TestOpenEmailSender:
    def test_file_is_the_default_and_writes_under_data_dir(self, tmp_path: Path) -> None:
        sender = open_email_sender(AccountsSettings(data_dir=tmp_path))

        assert isinstance(sender, FileEmailSender)
        assert sender.directory == tmp_path.resolve() / "mail"

    def test_file_honours_email_dir(self, tmp_path: Path) -> None:
        settings = AccountsSettings(data_dir=tmp_path, email_backend="file", email_dir=tmp_path / "outbox")

        sender = open_email_sender(settings)

        assert isinstance(sender, FileEmailSender)
        assert sender.directory == tmp_path / "outbox"

    def test_console(self, tmp_path: Path) -> None:
        settings = AccountsSettings(data_dir=tmp_path, email_backend="console", email_from=FROM)

        sender = open_email_sender(settings)

        assert isinstance(sender, ConsoleEmailSender)
        assert sender.from_addr == FROM

    async def test_smtp_uses_the_smtp_settings(self, tmp_path: Path, auth_smtp_server: SmtpServer) -> None:
        settings = AccountsSettings(
            data_dir=tmp_path,
            email_backend="smtp",
            email_from=FROM,
            smtp_host=auth_smtp_server.host,
            smtp_port=auth_smtp_server.port,
            smtp_username=LOGIN,
            smtp_password=SecretStr(PASSWORD),
            smtp_timeout=5.0,
        )

        sender = open_email_sender(settings)
        await sender.send(MESSAGE)

        assert isinstance(sender, SmtpEmailSender)
        assert (sender.security, sender.timeout) == ("none", 5.0)
        assert auth_smtp_server.recorder.logins == [(LOGIN, PASSWORD)]
        assert len(auth_smtp_server.recorder.envelopes) == 1
