"""Business-time arithmetic and the SLA rulebook's errors (file:line, nothing half loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.yamlfile import RulebookError
from tests.ticketing.helpers import CALENDARS, SLA, at, write_rulebook
from ticketing.sla_config import load_sla_config, parse_duration


def test_business_time_skips_lunch_nights_weekends_and_holidays(tmp_path: Path) -> None:
    office = load_sla_config(write_rulebook(tmp_path)).calendars["office"]
    # Thu 24 Dec 2026, 11:30 Berlin (10:30 UTC): 30 min to lunch, 4 h after; Fri 25th is a holiday.
    start = at("2026-12-24T10:30:00")
    assert office.add(start, 30 * 60) == at("2026-12-24T11:00:00")
    assert office.add(start, 60 * 60) == at("2026-12-24T12:30:00")  # lunch 12-13 Berlin skipped
    assert office.add(start, 5 * 3600) == at("2026-12-28T08:30:00")  # holiday + weekend skipped
    assert office.between(start, at("2026-12-28T08:30:00")) == 5 * 3600
    assert office.between(at("2026-12-26T10:00:00"), at("2026-12-27T10:00:00")) == 0


def test_daylight_saving_change_keeps_local_hours(tmp_path: Path) -> None:
    office = load_sla_config(write_rulebook(tmp_path)).calendars["office"]
    # Fri 27 Mar 2026 16:30 CET (15:30 UTC); Monday after the change opens 09:00 CEST = 07:00 UTC.
    assert office.add(at("2026-03-27T15:30:00"), 3600) == at("2026-03-30T07:30:00")


def test_overlapping_slots_are_refused_with_file_and_line(tmp_path: Path) -> None:
    calendars = CALENDARS.replace('["09:00-12:00", "13:00-17:00"]', '["09:00-12:00", "11:30-17:00"]')
    sla = SLA.replace(
        "calendar: always\n    when: {tags: [vip]}", "calendar: office\n    when: {tags: [vip]}"
    )
    directory = write_rulebook(tmp_path, calendars=calendars, sla=sla)
    with pytest.raises(RulebookError) as caught:
        load_sla_config(directory)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{directory / 'calendars.yml'}:8: calendars.office.hours: mon: slots")
    assert "09:00-12:00 and 11:30-17:00 overlap" in problem


def test_policy_naming_a_missing_calendar_is_an_error(tmp_path: Path) -> None:
    directory = write_rulebook(
        tmp_path, sla=SLA.replace("calendar: always\n    warn_before", "calendar: shop\n    warn_before")
    )
    with pytest.raises(RulebookError) as caught:
        load_sla_config(directory)
    assert caught.value.problems == (
        f"{directory / 'sla.yml'}:12: policies[1].calendar: unknown calendar 'shop' "
        "(define it in calendars.yml; known: always, office)",
    )


def test_schema_errors_point_at_the_line(tmp_path: Path) -> None:
    directory = write_rulebook(
        tmp_path,
        escalations="""
escalations:
  - name: late
    after: {no_first_reply: soon}
    then: [{set_priority: urgent, assign_queue: tier2}]
""",
    )
    with pytest.raises(RulebookError) as caught:
        load_sla_config(directory)
    text = "\n".join(caught.value.problems)
    assert (
        "escalations.yml:4: escalations[0].after.no_first_reply" in text and "invalid duration 'soon'" in text
    )
    assert "escalations.yml:5: escalations[0].then[0]" in text and "exactly one kind" in text


def test_durations() -> None:
    assert parse_duration("1h30m") == 5400 and parse_duration("2d") == 172800 and parse_duration(15) == 900
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("tomorrow")


def test_the_shipped_rulebook_loads() -> None:
    config = load_sla_config(Path(__file__).resolve().parents[2] / "rulebook")
    assert config.policies and config.escalations
