""" "Improve the bot" against the real app (SQLite, the example rulebook and its model): messages
the bot missed, grouped into topics with YAML that parses, and a draft of rules.yml replayed
against the stored messages (its problems with file:line, the decisions it would change)."""

from __future__ import annotations

import yaml

from tests.api.helpers import start_api
from tests.conftest import AppFactory
from tests.console.helpers import sign_in
from tests.webchat.helpers import ask

MISSED = [
    "do you sell bicycles in canada",
    "do you sell bikes in canada?",
    "can I buy a bicycle in canada",
    "what is the capital of peru",
    "capital city of peru?",
    "tell me the capital of peru",
]


async def test_missed_topics_and_a_replayed_draft(sqlite_url: str, make_client: AppFactory) -> None:
    api = await start_api(sqlite_url, make_client)
    for text in [*MISSED, "hello", "What are your opening hours?"]:
        await ask(api.client, text)
    viewer = await sign_in(api.client, "viewer1")

    page = await viewer.get("/console/improve")
    assert page.status == 200, await page.text()
    html = await page.text()
    assert "peru" in html and "canada" in html
    snippets = [part.split("</pre>", 1)[0] for part in html.split("<pre>")[1:]]
    assert snippets
    for snippet in snippets:
        parsed = yaml.safe_load(snippet.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&"))
        assert isinstance(parsed, list) and (parsed[0].get("name") or parsed[0].get("id"))
    assert (await viewer.get("/console/improve", range="year")).status == 400

    live = (api.app.knowledge.directory / "rules.yml").read_text(encoding="utf-8")
    broken = await viewer.post(
        "/console/improve/replay", {"draft": "rules:\n  - name: x\n    then: [{replyy: 1}]\n", "size": "100"}
    )
    assert broken.status == 422 and "rules.yml:" in await broken.text()
    same = await viewer.post("/console/improve/replay", {"draft": live, "size": "100"})
    same_text = await same.text()
    assert same.status == 200 and "<b>0</b> of 8 messages" in same_text, same_text[same_text.find("<main") :][
        :3000
    ]
    greeting = 'rules:\n  - name: greet_everyone\n    when: {}\n    then: [{reply: "Hi there!"}]\n'
    changed = await viewer.post("/console/improve/replay", {"draft": greeting, "size": "100"})
    text = await changed.text()
    assert changed.status == 200 and "of 8 messages" in text and "greet_everyone" in text
    assert (await viewer.post("/console/improve/replay", {"draft": live, "size": "7"})).status == 422
    assert (
        await viewer.post("/console/improve/replay", {"draft": live, "size": "100"}, csrf=False)
    ).status == 403
    assert (api.app.knowledge.directory / "rules.yml").read_text(encoding="utf-8") == live  # nothing saved
