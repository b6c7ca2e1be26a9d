from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.telegram.fake_api import FakeBotApi

TOKEN = "123456:TEST-token_abcdef"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as fake:
        yield fake
