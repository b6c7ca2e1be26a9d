"""The expected reply time an acknowledgement tells the customer: the SLA target in business hours."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.action_results import waiting_time
from tests.conftest import ROOT
from ticketing.expected_wait import expected_reply
from ticketing.sla_config import SlaConfig, load_sla_config

CONFIG = load_sla_config(ROOT / "rulebook")
BERLIN = ZoneInfo("Europe/Berlin")


def test_the_first_reply_target_is_counted_in_business_hours() -> None:
    friday_evening = datetime(2025, 6, 6, 17, 0, tzinfo=BERLIN).astimezone(UTC)  # open until 18:00
    ticket = {"priority": "normal", "tags": [], "queue": "support", "channel": "webchat"}
    expected = expected_reply(CONFIG, ticket, friday_evening)
    assert expected is not None and expected.seconds == 4 * 3600  # standard policy, normal: 4h
    # one hour on Friday, three on Saturday from 10:00
    assert expected.due.astimezone(BERLIN) == datetime(2025, 6, 7, 13, 0, tzinfo=BERLIN)
    assert expected.zone == BERLIN


def test_the_policy_follows_tags_and_priority() -> None:
    tuesday = datetime(2025, 6, 3, 9, 0, tzinfo=UTC)
    vip = expected_reply(CONFIG, {"priority": "high", "tags": ["vip"]}, tuesday)
    assert vip is not None and vip.seconds == 30 * 60


def test_no_policy_no_estimate() -> None:
    assert expected_reply(SlaConfig(), {"priority": "normal"}, datetime(2025, 6, 3, tzinfo=UTC)) is None


def test_waiting_time_reads_like_a_sentence() -> None:
    assert waiting_time(4 * 3600) == "4 hours"
    assert waiting_time(5400) == "1 hour 30 minutes"
    assert waiting_time(30 * 60) == "30 minutes"
