from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.slack.fake_api import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake
