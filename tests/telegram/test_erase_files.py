"""Erasing a customer deletes their attachment files (API ``DELETE /customers/{id}``), and says
how many: files are stored by content, so a file another customer's message holds stays."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.api.customer_helpers import FAST, callers, ok
from tests.conftest import AppFactory
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.test_webhook import post
from tests.telegram.updates import CUSTOMER, message
from tests.webchat.helpers import rows
from ticketing.models import ChannelIdentity, Interaction

PHOTO = b"\xff\xd8\xff\xe0 the same photo, twice"


async def test_erase_removes_the_files_no_one_else_holds(
    database_url: str, make_client: AppFactory, api: FakeBotApi, tmp_path: Path
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook") + FAST)
    who = await callers(app)
    api.files["photo-1"] = PHOTO
    api.files["doc-1"] = b"%PDF-1.4 only Ada's invoice"
    photo = [{"file_id": "photo-1", "file_unique_id": "p1", "file_size": len(PHOTO), "width": 9, "height": 9}]
    doc = {"file_id": "doc-1", "file_unique_id": "d1", "file_name": "invoice.pdf"}
    bob = {**CUSTOMER, "id": 777002, "first_name": "Bob"}
    assert (await post(client, message(None, photo=photo, caption="broken box"))).status == 200
    assert (await post(client, message(None, document=doc))).status == 200
    assert (await post(client, message(None, chat_id=777002, user=bob, photo=photo))).status == 200

    stored = await rows(app.engine, select(Interaction.attachments).where(Interaction.direction == "in"))
    keys = {a["storage_key"] for s in stored for a in s.attachments}
    assert len(keys) == 2  # the photo is stored once for both customers
    paths = {key: tmp_path / "var" / key for key in keys}
    assert all(p.is_file() for p in paths.values())
    owner = select(ChannelIdentity.external_id, ChannelIdentity.customer_id)
    ids = dict(await rows(app.engine, owner))
    ada, bob_id = ids["777001"], ids["777002"]

    erased = await ok(await client.delete(f"/api/v1/customers/{ada}", headers=who.admin), "eraseCustomer")
    assert erased["removed"]["files"] == 1  # the invoice; Bob's message still holds the photo
    photo_key = next(k for k in keys if "invoice" not in k)
    assert [k for k, p in paths.items() if p.exists()] == [photo_key]

    erased = await ok(await client.delete(f"/api/v1/customers/{bob_id}", headers=who.admin), "eraseCustomer")
    assert erased["removed"]["files"] == 1
    assert not any(p.exists() for p in paths.values())
