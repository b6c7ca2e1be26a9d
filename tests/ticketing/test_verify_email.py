"""``frontdesk tickets customer-verify-email`` (a real process) promotes a web chat claim once an
agent confirmed it; ``customer-erase`` removes the claim with the rest of the personal data.

The claims are made through the real app's ``/api/v1/identify``; Bob is a customer the way
incoming mail makes one (``Customers.resolve`` with his address)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from core.roles import Role
from tests.cli.test_faults import frontdesk
from tests.conftest import ROOT, AppFactory
from tests.webchat.helpers import Visitor, rows, send, start_session
from ticketing.models import ChannelIdentity, Conversation, Customer, Interaction, TicketEvent

BOB = "bob@example.com"


def _config(tmp_path: Path, database_url: str) -> Path:
    config = tmp_path / "cli.yaml"
    config.write_text(f"database:\n  url: {database_url}\nrulebook:\n  path: {ROOT / 'rulebook'}\n")
    return config


async def _run(config: Path, *argv: str) -> tuple[int, list[str]]:
    return await asyncio.to_thread(frontdesk, config, "tickets", *argv)


async def _claim(app: App, client: TestClient, email: str, text: str) -> tuple[Visitor, int]:
    visitor = await start_session(client)
    await send(client, visitor, text)
    resp = await client.post("/api/v1/identify", json={"email": email}, headers=visitor.auth)
    assert resp.status == 200, await resp.text()
    [(customer,)] = await rows(
        app.engine, select(Conversation.customer_id).where(Conversation.public_id == visitor.conversation_id)
    )
    return visitor, int(customer)


async def _customer(app: App, customer_id: int) -> tuple[object, ...]:
    [row] = await rows(
        app.engine,
        select(Customer.email, Customer.claimed_email, Customer.merged_into_id).where(
            Customer.id == customer_id
        ),
    )
    return tuple(row)


async def test_verify_an_unowned_claim_makes_it_the_email(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    app, client = await make_client(database_url)
    await app.accounts.add("alice", role=Role.AGENT, password="correct horse battery")
    _visitor, ada = await _claim(app, client, "ada@example.com", "I want to talk to a human")
    config = _config(tmp_path, database_url)

    code, err = await _run(config, "customer-verify-email", str(ada), "--actor", "agent:alice")
    assert code == 0, err
    assert await _customer(app, ada) == ("ada@example.com", None, None)
    # Recorded on the customer's ticket (the hand-off opened one), with the agent who confirmed it.
    events = await rows(
        app.engine,
        select(TicketEvent.actor, TicketEvent.data).where(TicketEvent.kind == "customer_email_verified"),
    )
    assert events == [("agent:alice", {"customer": ada})]

    # Nothing left to verify: one line that says so, exit 1, nothing written.
    code, err = await _run(config, "customer-verify-email", str(ada), "--actor", "agent:alice")
    assert code == 1
    assert len(err) == 1 and "no unverified email" in err[0], err
    code, err = await _run(config, "customer-verify-email", "987654")
    assert code == 1 and "no customer 987654" in err[0], err


async def test_verify_a_claim_of_an_owned_address_merges_into_the_owner(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    app, client = await make_client(database_url)
    await app.accounts.add("alice", role=Role.AGENT, password="correct horse battery")
    ref = await app.customers.resolve("email", BOB, "<b1@example.com>", display_name="Bob Builder", email=BOB)
    [(bob,)] = await rows(app.engine, select(Conversation.customer_id).where(Conversation.id == ref.id))
    visitor, claimant = await _claim(app, client, BOB, "I want to talk to a human")
    assert claimant != bob

    code, err = await _run(
        _config(tmp_path, database_url), "customer-verify-email", str(claimant), "--actor", "agent:alice"
    )
    assert code == 0, err
    assert await _customer(app, claimant) == (None, None, bob)
    assert await _customer(app, bob) == (BOB, None, None)
    conversations = await rows(
        app.engine, select(Conversation.customer_id).where(Conversation.public_id == visitor.conversation_id)
    )
    assert conversations == [(bob,)]
    identities = await rows(
        app.engine, select(ChannelIdentity.channel).where(ChannelIdentity.customer_id == bob)
    )
    assert sorted(c for (c,) in identities) == ["email", "webchat"]
    assert [c for (c,) in await rows(app.engine, select(Interaction.customer_id))] == [bob] * len(
        await rows(app.engine, select(Interaction.id))
    )
    merged = await rows(app.engine, select(TicketEvent.actor).where(TicketEvent.kind == "customer_merged"))
    assert merged == [("agent:alice",)]


async def test_erase_clears_the_claim(database_url: str, make_client: AppFactory, tmp_path: Path) -> None:
    app, client = await make_client(database_url)
    await app.accounts.add("alice", role=Role.AGENT, password="correct horse battery")
    _visitor, ada = await _claim(app, client, "ada@example.com", "hello")
    code, err = await _run(_config(tmp_path, database_url), "customer-erase", str(ada), "--yes")
    assert code == 0, err
    assert await _customer(app, ada) == (None, None, None)
