"""A segment run on the real app's database (SQLite and PostgreSQL): features read from the
stored conversations, tickets and message analyses, customers tagged ``segment:<name>``, the run
recorded; a second run replaces the tags; erased and merged customers are left out."""

from __future__ import annotations

from sqlalchemy import select

from bot.segments import SegmentJob, run_segments
from tests.api.helpers import start_api
from tests.conftest import AppFactory
from tests.segments.helpers import desk, say
from ticketing.customer_admin import CustomerAdmin
from ticketing.customer_edits import CustomerEdits
from ticketing.models import Customer
from ticketing.segments import Segments


async def tags_of(segments_engine: object, ids: list[int]) -> dict[int, list[str]]:
    async with segments_engine.connect() as conn:  # type: ignore[attr-defined]
        rows = await conn.execute(select(Customer.id, Customer.tags).where(Customer.id.in_(ids)))
        return {int(i): list(t) for i, t in rows}


async def test_a_run_names_the_groups_tags_them_and_a_second_run_replaces_the_tags(
    database_url: str, make_client: AppFactory
) -> None:
    api = await start_api(database_url, make_client)
    groups = await desk(api)
    store = Segments(engine=api.app.engine, batch=7)  # several tag batches
    features = await store.features()
    angry = list(features.ids).index(groups["angry"][0])
    assert features.columns["negative_share"][angry] == 1.0 and features.columns["complaints_90d"][angry] == 2
    heavy = list(features.ids).index(groups["heavy"][0])
    assert features.columns["open_tickets"][heavy] == 3 and features.columns["conversations_90d"][heavy] == 3
    dormant = list(features.ids).index(groups["dormant"][0])
    assert (
        features.columns["recency_days"][dormant] == features.columns["tenure_days"][dormant] == 200
        and features.columns["conversations_90d"][dormant] == 0
    )

    first = await run_segments(store)
    assert first.method == "kmeans" and first.customers == 25 and first.tagged == 25
    assert first.silhouette is not None and first.silhouette > 0.5 and first.k == 5
    names = {s["name"]: s for s in first.segments}
    assert sum(s["size"] for s in first.segments) == 25 and all(s["description"] for s in first.segments)
    tags = await tags_of(api.app.engine, [c for ids in groups.values() for c in ids])
    named = {group: {tuple(tags[c]) for c in ids} for group, ids in groups.items()}
    assert named["angry"] == {("segment:at-risk",)}
    assert named["heavy"] == {("segment:heavy-support",)}
    assert named["dormant"] == {("segment:dormant",)}
    assert named["frequent"] == {("segment:loyal",)}
    assert len(named["plain"]) == 1 and named["plain"] <= {(f"segment:{n}",) for n in names}
    assert names["at-risk"]["centroid"]["negative_share"] == 1.0 and names["at-risk"]["size"] == 5

    # Another tag survives, a stale segment tag goes; a dormant customer comes back; one customer
    # is erased and one merged: neither is counted or tagged.
    edits = CustomerEdits(engine=api.app.engine)
    await edits.edit(groups["plain"][0], add_tags=["vip", "segment:stale"])
    await say(api, "dormant0")
    admin = CustomerAdmin(engine=api.app.engine)
    await admin.erase(groups["plain"][1], actor="operator:test")
    await admin.merge(groups["plain"][2], groups["plain"][3], actor="operator:test")
    second = await run_segments(store)
    assert second.id == first.id + 1 and second.customers == 23
    tags = await tags_of(api.app.engine, [c for ids in groups.values() for c in ids])
    plain = named["plain"].pop()[0]
    assert tags[groups["plain"][0]] == ["vip", plain]
    assert tags[groups["dormant"][0]] != ["segment:dormant"] and len(tags[groups["dormant"][0]]) == 1
    assert tags[groups["plain"][1]] == []  # erased
    assert second.tagged == 2  # the edited customer and the one back from dormancy
    assert (await store.latest()) == second

    third = await run_segments(store)  # same data, same segments: nothing to write
    assert third.tagged == 0 and third.segments == second.segments and third.scores == second.scores


async def test_the_job_runs_once_per_interval_in_the_leader(
    database_url: str, make_client: AppFactory
) -> None:
    api = await start_api(database_url, make_client)
    await desk(api, per_group=1)
    job = SegmentJob(engine=api.app.engine, interval_hours=24, check_every=3600)
    try:
        run = await job.run_if_due()
        assert run is not None and run.method == "rule" and run.customers == 5
        assert await job.run_if_due() is None  # not due again for 24 hours
    finally:
        await job.stop()
    soon = SegmentJob(engine=api.app.engine, interval_hours=1e-9)
    try:
        assert (again := await soon.run_if_due()) is not None and again.id == run.id + 1
    finally:
        await soon.stop()
