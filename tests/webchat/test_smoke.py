from aiohttp.test_utils import TestClient


async def start(client: TestClient) -> dict[str, str]:
    resp = await client.post("/api/v1/sessions", json={})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    return {"Authorization": f"Bearer {body['token']}"}


async def test_faq_then_fallback(client: TestClient) -> None:
    auth = await start(client)
    resp = await client.post(
        "/api/v1/messages",
        json={"client_message_id": "m1", "text": "what are your opening hours?"},
        headers=auth,
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert "Monday to Friday" in body["replies"][0]["text"]
    resp = await client.post(
        "/api/v1/messages",
        json={"client_message_id": "m2", "text": "I need to change my delivery address"},
        headers=auth,
    )
    body = await resp.json()
    assert "T-1001" in body["replies"][0]["text"], body
