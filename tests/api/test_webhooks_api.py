"""Webhook subscriptions by API on the real app (SQLite and PostgreSQL): subscribe, receive signed
deliveries, list and page the dead letters, retry one under its own webhook-id, remove; beside a
config.yaml subscription the API may not take over or delete."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import AppOverrides
from bot.webhook_settings import secret_key
from core.roles import Role
from tests.accounts.helpers import account_with_token, bearer
from tests.accounts.test_http import problem
from tests.conftest import AppFactory
from tests.webchat.helpers import UNHANDLED, FlakyChannel
from tests.webhooks.receiver import SECRET, Receiver
from tests.webhooks.test_delivery import config, message, until

HOOKS, DELIVERIES = "/api/v1/webhooks", "/api/v1/webhooks/deliveries"


async def test_subscribe_receive_retry_and_remove_by_api(database_url: str, make_client: AppFactory) -> None:
    failing = True
    receiver = Receiver(answer=lambda _n: 503 if failing else 200)
    try:
        url = await receiver.start()
        overrides = AppOverrides(
            connectors={"loopback": FlakyChannel("loopback")}, webhook_sweep_interval=0.05
        )
        app, client = await make_client(
            database_url, extra=config(url, events="[csat.received]", attempts=2), overrides=overrides
        )
        auth = bearer(await account_with_token(app, "ada", Role.ADMIN))

        async def call(method: str, path: str, status: int, **kw: Any) -> Any:
            resp = await client.request(method, path, headers=auth, **kw)
            if status >= 400:
                return await problem(resp, status)
            assert resp.status == status, await resp.text()
            return await resp.json() if status != 204 else None

        made = await call("POST", HOOKS, 201, json={"name": "api-hook", "url": url, "secret": SECRET,
                                                    "events": ["ticket.created"]})  # fmt: skip
        assert made["source"] == "api" and made["enabled"] and "secret" not in made  # it was sent, not made
        generated = await call("POST", HOOKS, 201, json={"name": "gen", "url": "http://127.0.0.1:9/in",
                                                         "events": ["csat.received"]})  # fmt: skip
        assert len(secret_key(generated["secret"])) == 32  # shown once, here
        listed = (await call("GET", HOOKS, 200))["items"]
        assert [(s["name"], s["source"]) for s in listed] == [
            ("api-hook", "api"),
            ("crm", "config"),
            ("gen", "api"),
        ]
        assert not any("secret" in s for s in listed)
        crm = next(s for s in listed if s["name"] == "crm")

        assert "config.yaml" in (await call("POST", HOOKS, 409, json={**_body(url), "name": "crm"}))["detail"]
        assert "DELETE" in (await call("POST", HOOKS, 409, json={**_body(url), "name": "api-hook"}))["detail"]
        assert "config.yaml" in (await call("DELETE", f"{HOOKS}/{crm['id']}", 409))["detail"]
        for wrong, says in (({"events": ["ticket.nope"]}, "unknown event type"), ({"url": "ftp://x"}, "http"),
                            ({"url": "http://"}, "host"), ({"secret": "abc"}, "whsec_"),
                            ({"secret_env": "X"}, "unknown field"), ({"name": "a b"}, "name")):  # fmt: skip
            assert says in (await call("POST", HOOKS, 422, json={**_body(url), **wrong}))["detail"], wrong
        await call("POST", HOOKS, 400, data=b"[1]")
        await call("POST", HOOKS, 400, data=b"\xff not json")
        for bad in ("999999", "abc", "0", str(2**64)):
            await call("DELETE", f"{HOOKS}/{bad}", 404)
            await call("POST", f"{DELIVERIES}/{bad}/retry", 404)
        for query in ("state=bogus", "limit=0", "limit=201", "cursor=abc", "cursor=-1"):
            await call("GET", f"{DELIVERIES}?{query}", 400)

        # The receiver refuses: api-hook's ticket.created goes dead after two attempts.
        await app.flow.handle(message(UNHANDLED, user="ana"))
        await until("dead", lambda: _any_dead(client, auth))
        (dead,) = (await call("GET", f"{DELIVERIES}?state=dead", 200))["items"]
        assert dead["subscription"] == "api-hook" and dead["event_type"] == "ticket.created"
        assert (
            dead["attempts"] == 2
            and dead["last_error"] == "HTTP 503"
            and dead["webhook_id"].startswith("msg_")
        )
        assert "body" not in dead

        failing = False
        retried = await call("POST", f"{DELIVERIES}/{dead['id']}/retry", 202)
        assert retried["state"] == "pending" and retried["attempts"] == 0
        await until("sent", lambda: dead["webhook_id"] in receiver.unique())
        assert all(d.valid for d in receiver.requests)  # signed with the subscription's secret
        assert "only dead" in (await call("POST", f"{DELIVERIES}/{dead['id']}/retry", 409))["detail"]

        await call("DELETE", f"{HOOKS}/{made['id']}", 204)
        await call("DELETE", f"{HOOKS}/{made['id']}", 404)
        gone = next(s for s in (await call("GET", HOOKS, 200))["items"] if s["name"] == "api-hook")
        assert gone["enabled"] is False
        again = await call("POST", HOOKS, 201, json={**_body(url), "name": "api-hook"})
        assert again["id"] == made["id"] and again["enabled"] and again["events"] == ["ticket.updated"]
    finally:
        await receiver.close()


async def test_deliveries_page_by_cursor(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(
        database_url, overrides=AppOverrides(connectors={"loopback": FlakyChannel("loopback")})
    )
    auth = bearer(await account_with_token(app, "ada", Role.ADMIN))
    await app.webhook_subscriptions.put(name="nowhere", url="http://127.0.0.1:9/", secret=SECRET,
                                        events=["message.created", "ticket.created"])  # fmt: skip
    for user in ("a", "b"):
        await app.flow.handle(message(UNHANDLED, user=user))
    await app.webhook_producer.run_once()
    everything = (await (await client.get(f"{DELIVERIES}?limit=200", headers=auth)).json())["items"]
    assert len(everything) >= 4
    seen: list[int] = []
    cursor = ""
    while True:
        page = await (await client.get(f"{DELIVERIES}?limit=3{cursor}", headers=auth)).json()
        seen += [d["id"] for d in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == [d["id"] for d in everything] == sorted(seen, reverse=True)


def _body(url: str) -> dict[str, Any]:
    return {"name": "other", "url": url, "events": ["ticket.updated"], "secret": SECRET}


async def _dead(client: TestClient[Any, Any], auth: dict[str, str]) -> list[dict[str, Any]]:
    resp = await client.get(f"{DELIVERIES}?state=dead,pending", headers=auth)
    return [d for d in (await resp.json())["items"] if d["state"] == "dead"]


async def _any_dead(client: TestClient[Any, Any], auth: dict[str, str]) -> bool:
    return bool(await _dead(client, auth))


async def test_concurrent_creates_of_one_name_give_one_subscription(
    database_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(database_url)
    auth = bearer(await account_with_token(app, "ada", Role.ADMIN))
    body = {"name": "race", "url": "http://127.0.0.1:9/", "events": ["ticket.created"]}
    answers = await asyncio.gather(*(client.post(HOOKS, json=body, headers=auth) for _ in range(8)))
    assert sorted(r.status for r in answers) == [201] + [409] * 7
    assert [s.name for s in await app.webhook_subscriptions.all()] == ["race"]
