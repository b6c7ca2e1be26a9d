"""After ``frontdesk tickets customer-erase`` (its own process) the same Telegram user writing
again is a new customer: the message is stored under a fresh record, never the erased one, and
answered, even though the server still had the erased conversation cached."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.conftest import AppFactory
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.test_webhook import HOURS, post
from tests.telegram.updates import CUSTOMER, message
from tests.webchat.helpers import count, erase_customer, rows
from ticketing.models import ChannelIdentity, Customer, Interaction


async def test_writing_again_after_erasure_makes_a_new_customer(
    database_url: str, make_client: AppFactory, api: FakeBotApi, tmp_path: Path
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    assert (await post(client, message(HOURS))).status == 200
    await api.wait_for("sendMessage")
    [(erased,)] = await rows(
        app.engine,
        select(ChannelIdentity.customer_id).where(
            ChannelIdentity.channel == "telegram", ChannelIdentity.external_id == str(CUSTOMER["id"])
        ),
    )
    output = await erase_customer(database_url, tmp_path, erased)
    assert "revoked: 1 channel identities and 1 conversations" in output, output
    kept = await count(app.engine, Interaction, Interaction.customer_id == erased)

    resp = await post(client, message(HOURS, message_id=902))
    assert resp.status == 200, await resp.text()
    [_, answer] = await api.wait_for("sendMessage", 2)
    assert "Monday to Friday" in answer.params["text"]
    assert answer.params["chat_id"] == str(CUSTOMER["id"])
    assert answer.json("reply_parameters")["message_id"] == 902
    assert await count(app.engine, Interaction, Interaction.customer_id == erased) == kept
    [(customer_id, erased_at)] = await rows(
        app.engine,
        select(Customer.id, Customer.erased_at)
        .join(Interaction, Interaction.customer_id == Customer.id)
        .where(Interaction.external_message_id == "902"),
    )
    assert customer_id != erased and erased_at is None
