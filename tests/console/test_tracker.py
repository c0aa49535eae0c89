"""The tracker's own small rules: the Immediate Response's clock in words, and links that keep the filters."""
from datetime import UTC, datetime, timedelta

import pytest

from auditcycle.console.tracker import Filters, Tab, clock_label
from auditcycle.core.clock import Month

NOON = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("minutes, said", [
    (200, "3 h 20 min left"), (60, "1 h left"), (5, "5 min left"), (0, "Overdue by 0 min"),
    (-30, "Overdue by 30 min"), (-125, "Overdue by 2 h 5 min"),
])
def test_clock_label_says_the_time_left_or_how_late(minutes: int, said: str) -> None:
    assert clock_label(NOON + timedelta(minutes=minutes), NOON) == said


def test_a_sort_link_keeps_the_filters_turns_the_order_and_goes_back_to_page_one() -> None:
    filters = Filters(month=Month(2026, 12), team_id=3, overdue=True, sort="due", page=4)

    again = filters.sorted_by(Tab.AUDITS, "due")
    other = filters.sorted_by(Tab.AUDITS, "case")

    assert again == {"month": "2026-12", "team": "3", "overdue": "yes", "sort": "due", "order": "desc"}
    assert other == {"month": "2026-12", "team": "3", "overdue": "yes", "sort": "case"}
    assert filters.params(Tab.AUDITS)["page"] == "4"


def test_the_defaults_are_left_out_of_a_link_but_an_asked_any_status_is_kept() -> None:
    # Immediate Responses show the open ones unless asked: "any" must then say so in the link.
    assert Filters(status="open", sort="due").params(Tab.RESPONSES) == {}
    assert Filters(status="any", sort="due").params(Tab.RESPONSES) == {"status": "any"}
    assert Filters(sort="month", descending=True).params(Tab.AUDITS) == {}
    assert Filters(sort="month").params(Tab.AUDITS) == {"order": "asc"}
