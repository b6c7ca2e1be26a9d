"""The tickets part of REST API v1 against the real app on SQLite and PostgreSQL: filters,
cursor pages across inserts, full-text search (and erasure), every change, a reply reaching
the customer's channel, private notes, and the problems a client's mistake gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from core.roles import Role
from tests.api.helpers import Api, problem, start_api, validator
from tests.conftest import AppFactory
from tests.webchat.helpers import eventually, rows
from ticketing.access_audit import AccessEvent
from ticketing.customer_admin import CustomerAdmin
from ticketing.models import Interaction, OutboxItem
from ticketing.ticket_queries import TicketQueries, TicketQuery

LIST = "/api/v1/tickets"
TICKET_LIST, TICKET, DETAIL = validator("TicketList"), validator("Ticket"), validator("TicketDetail")


def one(number: int) -> str:
    return f"{LIST}/T-{number}"


async def page(api: Api, role: Role = Role.AGENT, **params: Any) -> dict[str, Any]:
    resp = await api.get(LIST, role, **params)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    TICKET_LIST.validate(body)
    return body


def numbers(body: dict[str, Any]) -> list[int]:
    return [t["number"] for t in body["items"]]


async def test_filters_each_and_together(database_url: str, make_client: AppFactory) -> None:
    api = await start_api(database_url, make_client)
    await api.app.ticketing.roster.add_queue("billing")
    await api.app.ticketing.roster.add_agent("bea", queues=["support", "billing"])
    a = await api.open_ticket("parcel broken", tags=("vip",), priority="high")
    b = await api.open_ticket("invoice twice", queue="billing")
    c = await api.open_ticket("where is my order", user="same-person")
    d = await api.open_ticket("and another thing", user="same-person", tags=("vip", "late"))
    desk = api.app.ticketing.desk
    await desk.assign(b, "bea", actor="account:agent1")  # new → open
    await desk.set_status(c, "pending", actor="account:agent1")

    assert numbers(await page(api)) == [d, c, b, a]  # newest first
    assert numbers(await page(api, status="new")) == [d, a]
    assert numbers(await page(api, status="open,pending")) == [c, b]
    resp = await api.client.get(LIST, params=[("status", "open"), ("status", "new")], headers=api.auth())
    assert numbers(await resp.json()) == [d, b, a]
    assert numbers(await page(api, queue="billing")) == [b]
    assert numbers(await page(api, assignee="bea")) == [b]
    assert numbers(await page(api, priority="high")) == [a]
    assert numbers(await page(api, tag="vip")) == [d, a]
    assert numbers(await page(api, tag="late", status="new")) == [d]
    customer = (await api.app.ticketing.desk.get(c))["customer_id"]
    assert numbers(await page(api, customer=str(customer))) == [d, c]
    assert numbers(await page(api, customer=str(customer), status="pending")) == [c]
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert numbers(await page(api, updated_since=later)) == []
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert numbers(await page(api, updated_since=earlier, queue="support")) == [d, c, a]
    assert numbers(await page(api, queue="nowhere")) == []

    shown = (await page(api, priority="high"))["items"][0]
    assert shown["ref"] == f"T-{a}" and shown["tags"] == ["vip"] and shown["status"] == "new"
    assert shown["channel"] == "loopback" and shown["conversation_id"]


async def test_cursor_pages_stay_stable_while_tickets_arrive(
    database_url: str, make_client: AppFactory
) -> None:
    api = await start_api(database_url, make_client)
    made = [await api.open_ticket(f"question {n}") for n in range(7)]
    first = await page(api, limit="3")
    assert numbers(first) == made[:3:-1] and first["next_cursor"]
    fresh = [await api.open_ticket(f"late question {n}") for n in range(2)]  # arrive meanwhile
    await api.app.ticketing.desk.set_status(made[2], "open", actor="account:agent1")  # and a change
    second = await page(api, limit="3", cursor=first["next_cursor"])
    assert numbers(second) == made[3::-1][:3]
    third = await page(api, limit="3", cursor=second["next_cursor"])
    assert numbers(third) == [made[0]] and third["next_cursor"] is None
    assert numbers(await page(api, limit="2"))[:2] == fresh[::-1]
    # Several statuses are merged in id order across pages too.
    both = await page(api, status="new,open", limit="4")
    rest = await page(api, status="new,open", limit="4", cursor=both["next_cursor"])
    everything = [*fresh, *made]
    assert numbers(both) + numbers(rest) + numbers(
        await page(api, status="new,open", limit="4", cursor=rest["next_cursor"])
    ) == sorted(everything, reverse=True)


async def test_search_finds_subjects_and_customer_messages_and_forgets_erased_ones(
    database_url: str, make_client: AppFactory
) -> None:
    api = await start_api(database_url, make_client)
    refund = await api.open_ticket("Refund for order 4411 please")
    other = await api.open_ticket("Delivery question")
    await api.say(other, "the courier left my Parcel at the neighbour's, café closed")
    mine = await api.open_ticket("hello")
    await api.app.ticketing.desk.reply(
        mine, "parcel tracking link is on its way", agent="agent1"
    )  # not the customer's
    assert numbers(await page(api, q="refund")) in ([], [refund])  # SQLite: not yet, or just added
    await api.app.search_index.catch_up()  # what its loop does every second

    assert numbers(await page(api, q="refund")) == [refund]
    assert numbers(await page(api, q="REFUND 4411")) == [refund]
    assert numbers(await page(api, q="parcel")) == [other]  # an agent's reply is not searched
    assert numbers(await page(api, q="courier neighbour")) == [other]
    assert numbers(await page(api, q="Courier")) == [other]
    assert numbers(await page(api, q="cour")) == []  # whole words
    assert numbers(await page(api, q="refund parcel")) == []  # every word, in one text
    assert numbers(await page(api, q="parcel", status="solved")) == []

    customer = (await api.app.ticketing.desk.get(other))["customer_id"]
    await CustomerAdmin(engine=api.app.engine).erase(customer, actor="account:admin1")
    await api.app.search_index.catch_up()
    assert numbers(await page(api, q="courier")) == []
    assert numbers(await page(api, q="delivery")) == []
    assert numbers(await page(api, q="erased")) == []
    assert numbers(await page(api, q="refund")) == [refund]


async def test_detail_with_events_and_timers_is_audited(database_url: str, make_client: AppFactory) -> None:
    api = await start_api(database_url, make_client)
    number = await api.open_ticket("my parcel is broken")
    resp = await api.get(one(number), Role.VIEWER)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    DETAIL.validate(body)
    assert body["ref"] == f"T-{number}" and [e["kind"] for e in body["events"]] == ["created"]
    assert body["events"][0]["actor"] == "rule:test"
    assert (await (await api.get(f"{LIST}/{number}")).json())["number"] == number  # "1042" works too
    [read] = await rows(api.app.engine, select(AccessEvent.action, AccessEvent.actor, AccessEvent.ticket_id)
                        .where(AccessEvent.actor == "account:viewer1"))  # fmt: skip
    assert read.action == "ticket.read" and read.ticket_id is not None


async def test_patch_changes_everything_in_one_transaction(
    database_url: str, make_client: AppFactory
) -> None:
    api = await start_api(database_url, make_client)
    await api.app.ticketing.roster.add_queue("tier2")
    await api.app.ticketing.roster.add_agent("carl", queues=["tier2"])
    number = await api.open_ticket("my parcel is broken", tags=("late",))
    change = {"queue": "tier2", "assignee": "carl", "priority": "urgent",
              "tags": {"add": ["vip"], "remove": ["late"]}, "status": "pending"}  # fmt: skip
    resp = await api.client.patch(one(number), json=change, headers=api.auth())
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    TICKET.validate(body)
    assert (body["queue"], body["assignee"], body["priority"], body["tags"], body["status"]) == (
        "tier2", "carl", "urgent", ["vip"], "pending")  # fmt: skip
    detail = await (await api.get(one(number))).json()
    kinds = {(e["kind"], e["actor"]) for e in detail["events"]}
    assert {"queue", "assignee", "priority", "tags", "status"} <= {k for k, _ in kinds}
    changed = ("queue", "assignee", "priority", "tags", "status")
    assert all(actor == "account:agent1" for kind, actor in kinds if kind in changed), kinds

    unassigned = await api.client.patch(one(number), json={"assignee": None}, headers=api.auth())
    assert (await unassigned.json())["assignee"] is None

    # A bad field among good ones: nothing changes.
    resp = await api.client.patch(one(number), json={"priority": "low", "status": "new"}, headers=api.auth())
    assert "cannot go from pending to new" in (await problem(resp, 409))["detail"]
    assert (await api.app.ticketing.desk.get(number))["priority"] == "urgent"


async def test_reply_reaches_the_customer_through_the_outbox_and_a_note_does_not(
    database_url: str, make_client: AppFactory
) -> None:
    api = await start_api(database_url, make_client)
    number = await api.open_ticket("my parcel is broken")
    resp = await api.client.post(f"{one(number)}/replies", json={"text": "A new one is on its way."},
                                 headers=api.auth())  # fmt: skip
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    TICKET.validate(body)
    assert body["status"] == "open" and body["first_reply_at"] is not None
    await eventually(lambda: _delivered(api, "A new one is on its way."))
    [sent] = [m for m in api.channel.delivered if m.text == "A new one is on its way."]
    assert sent.channel == "loopback" and sent.external_user_id == api.refs[number].external_user_id
    await eventually(lambda: _outbox_state(api, "A new one is on its way.", "sent"))  # recorded next round

    note = await api.client.post(
        f"{one(number)}/notes", json={"text": "customer called twice"}, headers=api.auth()
    )
    assert note.status == 201, await note.text()
    TICKET.validate(await note.json())
    detail = await (await api.get(one(number))).json()
    reply, noted = [e for e in detail["events"] if e["kind"] in ("reply", "note")]
    assert (reply["actor"], noted["actor"], noted["data"]) == (
        "account:agent1", "account:agent1", {"text": "customer called twice"})  # fmt: skip
    assert not [m for m in api.channel.delivered if "called twice" in m.text]
    assert not await rows(
        api.app.engine, select(Interaction.id).where(Interaction.text.like("%called twice%"))
    )


async def _outbox_state(api: Api, text: str, state: str) -> bool:
    stmt = select(OutboxItem.state).join(Interaction).where(Interaction.text == text)
    return [r.state for r in await rows(api.app.engine, stmt)] == [state]


async def _delivered(api: Api, text: str) -> bool:
    return any(m.text == text for m in api.channel.delivered)


async def test_a_clients_mistakes_get_problems_that_say_what_to_fix(
    database_url: str, make_client: AppFactory
) -> None:
    api = await start_api(database_url, make_client)
    number = await api.open_ticket("my parcel is broken")
    bad_queries: list[tuple[dict[str, str], str]] = [
        ({"status": "opened"}, "unknown status 'opened'"),
        ({"priority": "asap"}, "unknown priority"),
        ({"limit": "0"}, "between 1 and 200"),
        ({"limit": "many"}, "whole number"),
        ({"customer": "99999999999999999999999"}, "positive whole number"),
        ({"updated_since": "yesterday"}, "RFC 3339"),
        ({"updated_since": "2026-12-01T10:00:00"}, "with a zone"),
        ({"updated_since": "0001-01-01T00:00:00+14:00"}, "RFC 3339"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "next_cursor"),
        ({"cursor": "%%%"}, "next_cursor"),
        ({"q": "!!!"}, "at least one word"),
        ({"q": "a\x00b"}, "NUL"),
        ({"tag": "\x00"}, "NUL"),
        ({"sort": "id"}, "unknown query parameter 'sort'"),
    ]
    for params, fragment in bad_queries:
        body = await problem(await api.get(LIST, **params), 400)
        assert fragment in body["detail"], (params, body)

    await problem(await api.get(one(424242)), 404)
    await problem(await api.get(f"{LIST}/T-99999999999999999999999"), 404)
    await problem(await api.get(f"{LIST}/not-a-ticket"), 404)

    patch = one(number)
    bad_bodies: list[tuple[Any, int, str]] = [
        (b"{not json", 400, "JSON object"),
        ([], 422, "JSON object"),
        ({}, 422, "nothing to change"),
        ({"colour": "red"}, 422, "unknown field 'colour'"),
        ({"status": 3}, 422, "status must be"),
        ({"status": "finished"}, 422, "unknown status 'finished'"),
        ({"priority": "asap"}, 422, "unknown priority 'asap'"),
        ({"queue": "nowhere"}, 422, "unknown queue 'nowhere'"),
        ({"assignee": "ghost"}, 422, "unknown agent 'ghost'"),
        ({"assignee": 7}, 422, "assignee must be"),
        ({"tags": ["vip"]}, 422, '{"add"'),
        ({"tags": {"add": [""]}}, 422, "non-empty"),
        ({"queue": "a\x00b"}, 422, "plain text"),
    ]
    for body, status, fragment in bad_bodies:
        kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
        resp = await api.client.patch(patch, headers=api.auth(), **kwargs)
        assert fragment in (await problem(resp, status))["detail"], (body, fragment)
    for path in (f"{patch}/replies", f"{patch}/notes"):
        for body, fragment in (({}, "text must be"), ({"text": "  "}, "text must be"),
                               ({"text": "hi", "cc": "x"}, "unknown field 'cc'"),
                               ({"text": "\ud800"}, "invalid Unicode")):  # fmt: skip
            resp = await api.client.post(path, json=body, headers=api.auth())
            assert fragment in (await problem(resp, 422))["detail"], (path, body)
    await problem(await api.client.post(f"{one(424242)}/notes", json={"text": "x"}, headers=api.auth()), 404)

    await api.app.ticketing.desk.set_status(number, "solved", actor="account:agent1")
    await api.app.ticketing.desk.set_status(number, "closed", actor="account:agent1")
    resp = await api.client.post(f"{patch}/replies", json={"text": "hello?"}, headers=api.auth())
    assert "closed" in (await problem(resp, 409))["detail"]


async def test_errors_before_any_handler_are_problems_too(sqlite_url: str, make_client: AppFactory) -> None:
    """What the edge answers itself on the account API (no such endpoint, a method it does not
    take, a body over the limit or unreadable) is problem+json like every handler's answer; the
    widget's paths keep their own error shape."""
    api = await start_api(sqlite_url, make_client)
    number = await api.open_ticket("my parcel is broken")
    body = await problem(await api.get("/api/v1/nope"), 404)
    assert "openapi.json" in body["detail"] and body["type"].endswith(":not-found")
    resp = await api.client.put(LIST, json={}, headers=api.auth())
    assert "PUT" in (await problem(resp, 405))["detail"]
    big = {"text": "a" * (70 * 1024)}
    resp = await api.client.post(f"{one(number)}/notes", json=big, headers=api.auth())
    assert "too large" in (await problem(resp, 413))["detail"]
    garbled = {**api.auth(), "Content-Type": "application/json", "Content-Encoding": "gzip"}
    resp = await api.client.post(f"{one(number)}/notes", data=b"not gzip at all", headers=garbled)
    assert "could not be read" in (await problem(resp, 400))["detail"]
    resp = await api.client.post("/api/v1/messages", data=b"{", headers={"Content-Type": "application/json"})
    assert resp.status == 401 and resp.content_type == "application/json"  # the widget's shape
    assert "error" in await resp.json()


async def test_no_token_is_401_and_a_viewer_may_read_but_not_write(
    database_url: str, make_client: AppFactory
) -> None:
    api = await start_api(database_url, make_client)
    number = await api.open_ticket("my parcel is broken")
    for method, path, body in (
        ("GET", LIST, None), ("GET", one(number), None), ("PATCH", one(number), {"priority": "high"}),
        ("POST", f"{one(number)}/replies", {"text": "hi"}), ("POST", f"{one(number)}/notes", {"text": "hi"}),
    ):  # fmt: skip
        resp = await api.client.request(method, path, json=body)
        await problem(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        viewer = await api.client.request(method, path, json=body, headers=api.auth(Role.VIEWER))
        if method == "GET":
            assert viewer.status == 200
        else:
            assert "tickets:write" in (await problem(viewer, 403))["detail"]
    ticket = await api.app.ticketing.desk.get(number)
    assert ticket["priority"] == "normal" and not api.channel.delivered


async def test_common_and_rare_words_find_the_same_tickets(
    database_url: str, make_client: AppFactory
) -> None:
    """A common word is tested ticket by ticket as the newest-first scan reaches it (PostgreSQL)
    or collected window by window of the newest tickets (SQLite), a rare one collected from the
    index at once; on a few rows every plan is forced (windows of two tickets: a page's rows come
    from several), and all must agree."""
    api = await start_api(database_url, make_client)
    made = [await api.open_ticket(f"order {n} {'late' if n % 3 else 'lost'}") for n in range(9)]
    for n, number in enumerate(made):
        await api.say(number, f"my parcel {'never came' if n % 2 else 'is broken'}")
    await api.app.search_index.catch_up()  # half added before the erasure, half after
    customer = (await api.app.ticketing.desk.get(made[4]))["customer_id"]
    await CustomerAdmin(engine=api.app.engine).erase(customer, actor="account:admin1")
    late = [await api.open_ticket("late parcel order"), await api.open_ticket("another late order")]
    await api.say(late[0], "parcel never came")
    erased = (await api.app.ticketing.desk.get(late[1]))["customer_id"]
    await CustomerAdmin(engine=api.app.engine).erase(erased, actor="account:admin1")  # before it was added
    await api.app.search_index.catch_up()
    scan = TicketQueries(engine=api.app.engine, common_after=1)
    collect = TicketQueries(engine=api.app.engine, common_after=10**9)
    windows = TicketQueries(engine=api.app.engine, common_after=1, window=2)
    for q, status in (("parcel", ()), ("order late", ()), ("parcel broken", ("new",)), ("lost", ()),
                      ("nothing", ()), ("never", ("new", "open"))):  # fmt: skip
        pages = []
        for queries in (scan, collect, windows):
            found, cursor = [], None
            while True:
                page = await queries.page(TicketQuery(q=q, status=status, limit=2, cursor=cursor))
                found += [t["number"] for t in page.items]
                if (cursor := page.next_cursor) is None:
                    break
            pages.append(found)
        assert pages[0] == pages[1] == pages[2], (q, pages)
        assert made[4] not in pages[0] and late[1] not in pages[0], (q, pages)
    assert pages[0] == [late[0], *made[7::-2]]
