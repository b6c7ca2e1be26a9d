"""Session tokens: a token verified before is remembered by its text, and expiry is still
checked on every use (connectors/webchat/tokens.py)."""

from __future__ import annotations

import pytest

from connectors.webchat.tokens import InvalidToken, SessionTokens

SECRET = b"test-secret-0123456789abcdef"


def test_a_remembered_token_still_expires() -> None:
    tokens = SessionTokens(secret=SECRET, ttl_seconds=60)
    token = tokens.issue("visitor", "conversation", now=1000.0)
    assert tokens.verify(token, now=1010.0).conversation_id == "conversation"
    assert tokens.verify(token, now=1059.0).visitor_id == "visitor"  # from memory
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token, now=1061.0)


def test_a_forged_token_is_refused_every_time() -> None:
    tokens = SessionTokens(secret=SECRET, ttl_seconds=60)
    token = tokens.issue("visitor", "conversation", now=1000.0)
    version, body, _signature = token.split(".")
    other = SessionTokens(secret=b"another-secret-0123456789abcdef", ttl_seconds=60)
    forged = f"{version}.{body}.{other.issue('visitor', 'conversation', now=1000.0).split('.')[2]}"
    for _ in range(2):  # a refusal is not remembered as a success
        with pytest.raises(InvalidToken, match="signature"):
            tokens.verify(forged, now=1010.0)
    assert tokens.verify(token, now=1010.0).conversation_id == "conversation"


def test_the_memory_is_bounded() -> None:
    tokens = SessionTokens(secret=SECRET, ttl_seconds=60)
    issued = [tokens.issue(f"v{i}", f"c{i}", now=1000.0) for i in range(10_050)]
    for token in issued:
        tokens.verify(token, now=1001.0)
    assert len(tokens._verified) == 10_000
    assert tokens.verify(issued[0], now=1001.0).visitor_id == "v0"  # forgotten, verified again
