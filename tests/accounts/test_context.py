"""Email of a request leaves only once the request's transaction has committed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from services.accounts.deps import request_context
from services.accounts.mail import MemoryEmailSender, OutgoingEmail
from services.accounts.service.context import AccountsContext, Notifier
from shared.config import AccountsSettings

MESSAGE = OutgoingEmail(to="alice@example.org", subject="Hello", body="Hi\n")


def fake_request(ctx: AccountsContext, *, committed: bool) -> SimpleNamespace:
    state = SimpleNamespace(committed=True) if committed else SimpleNamespace()
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(accounts=ctx)), state=state)


@pytest.mark.parametrize(("committed", "delivered"), [(True, [MESSAGE]), (False, [])])
async def test_held_until_commit(tmp_path: Path, committed: bool, delivered: list[OutgoingEmail]) -> None:
    sender = MemoryEmailSender()
    notifier = Notifier(sender)
    ctx = AccountsContext(settings=AccountsSettings(data_dir=tmp_path), keys=(b"k",), notifier=notifier)
    dependency = request_context(fake_request(ctx, committed=committed))  # type: ignore[arg-type]
    request_ctx = await anext(dependency)
    request_ctx.notifier.send(MESSAGE)
    await notifier.drain()
    assert sender.outbox == []  # nothing before the request ends
    with pytest.raises(StopAsyncIteration):
        await anext(dependency)
    await notifier.drain()
    assert sender.outbox == delivered


async def test_messages_leave_in_the_order_sent(tmp_path: Path) -> None:
    sender = MemoryEmailSender()
    notifier = Notifier(sender)
    messages = [OutgoingEmail(to=f"u{i}@example.org", subject=str(i), body="x\n") for i in range(20)]
    for message in messages:
        notifier.send(message)
    await notifier.drain()
    assert sender.outbox == messages
