"""The one redactor, on the spellings, dates and numbers a rushed member of staff types."""
import unicodedata
from datetime import date

import pytest

from auditcycle.core.text import Redacted
from auditcycle.privacy.redaction import WITHHELD, Redactor, name_parts

BORN = date(2017, 1, 17)
REDACT = Redactor(
    names=frozenset(name_parts("Oisín Vexworth-Plum") | name_parts("Mary Jane Ní Bhriain")
                    | name_parts("Kathleen O'Brien")),
    birthdays=frozenset({BORN}),
    staff_emails=frozenset({"a.worker@council.example"}),
)


@pytest.mark.parametrize("typed", [
    "Oisin", "OISÍN", "oisín", unicodedata.normalize("NFD", "Oisín"), "Vexworth Plum", "vexworth-plum",
    "VEXWORTHPLUM", "Mary", "Jane", "Mary-Jane", "Bhriain", "Kathleen", "O'Brien", "obrien",
])
def test_every_spelling_of_a_name_part_becomes_an_initial(typed):
    out = REDACT(f"Spoke with {typed} today.")

    folded = unicodedata.normalize("NFD", out).casefold()
    for part in ("oisin", "oisín", "vexworth", "plum", "mary", "jane", "bhriain", "kathleen", "brien"):
        assert part not in folded
    assert out.startswith("Spoke with ") and out.endswith(" today.") and "." in out[len("Spoke with "):]


@pytest.mark.parametrize("written", [
    "17/01/2017", "17/1/2017", "17-01-2017", "17.01.2017", "17.01.17", "17 01 2017", "17/01/17", "2017-01-17",
    "17 January 2017", "17th January 2017", "17th of January 2017", "17 Jan 2017", "January 17 2017",
    "January 17th, 2017", "Jan. 17, 2017", "01/17/2017",
])
def test_a_birth_date_in_any_common_uk_form_is_removed(written):
    assert REDACT(f"born {written}, seen at home") == f"born {WITHHELD}, seen at home"


def test_other_dates_stay_so_a_due_date_survives():
    text = "Due 31/12/2026, review on 15 January 2027 and again 2027-02-01."

    assert REDACT(text) == text


@pytest.mark.parametrize("number", [
    "0808 157 0000", "+44 (0)808 157 0000", "+44(0)808 157 0000", "07700900461", "07700 900 461",
    "07700-900-461", "(0161) 496 0000", "020 7946 0018", "+447700900461",
])
def test_every_phone_number_is_removed_whatever_its_format(number):
    out = REDACT(f"ring mum on {number} after 5")

    assert out == f"ring mum on {WITHHELD} after 5"


def test_our_own_references_and_counts_stay():
    text = "See ACT-2026-12-0001, IR-A-2026-12-004-1 and case C000123; 3 children, 12 visits."

    assert REDACT(text) == text


def test_email_addresses_go_unless_they_are_staff():
    out = REDACT("Write to mum.home@gmail.com, copy A.Worker@council.example")

    assert out == f"Write to {WITHHELD}, copy A.Worker@council.example"


def test_the_result_is_marked_redacted_and_empty_text_stays_empty():
    assert isinstance(REDACT("anything"), Redacted)
    assert REDACT(None) == "" and REDACT.optional(None) is None and REDACT.optional("") is None


def test_a_child_outside_the_scope_is_not_touched():
    """The scope is the children the text concerns: another child's name is ordinary text here."""
    assert REDACT("Agreed with Priya") == "Agreed with Priya"
