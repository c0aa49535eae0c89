"""The audit form's strict input types: a date is the string YYYY-MM-DD, and text holds only what it may.

These check `validate_form` alone: no database, no audit; the problems are the user's words.
"""
import unicodedata
from datetime import date

import pytest
from forms import valid_form

from auditcycle.core.settings import FrameworkSettings
from auditcycle.core.timescales import Timescales
from auditcycle.submissions.forms import FormError, validate_form

TODAY = date(2026, 12, 14)
OWNER = "S1"


def problems(form: dict) -> list[str]:
    """Validate a form that must be refused; return its problems."""
    with pytest.raises(FormError) as refused:
        validate_form(form, source="form.json", timescales=Timescales(FrameworkSettings(), "Europe/London"), today=TODAY, known_staff={OWNER})
    return refused.value.problems


def accepted(form: dict):
    return validate_form(form, source="form.json", timescales=Timescales(FrameworkSettings(), "Europe/London"), today=TODAY, known_staff={OWNER})


def with_due(due) -> dict:
    form = valid_form(OWNER, today=TODAY)
    form["actions"][0]["due"] = due
    return form


# --- rule 5: dates are dates --------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        # Lax parsing read 0 as 1970-01-01 and skipped the 31-day rule, which re-read it as text.
        (0, "actions.0.due: a number, not a date"),
        (1_798_761_600, "actions.0.due: a number, not a date"),
        (20261220.0, "actions.0.due: a number, not a date"),
        # A midnight date-time was taken as its date, and the 31-day rule could not read it.
        ("2100-01-01T00:00", "actions.0.due: a date and time, not a date"),
        ("2026-12-20 00:00:00", "actions.0.due: a date and time, not a date"),
        # Forms `date.fromisoformat` reads, which the form does not document.
        ("20261220", "actions.0.due: a number, not a date"),
        ("2026-W52-1", "actions.0.due: not a date"),
        ("٢٠٢٦-١٢-٢٠", "actions.0.due: not a date"),
        (True, "actions.0.due: true, not a date"),
        (None, "actions.0.due: null, not a date"),
        (["2026-12-20"], "actions.0.due: not a date"),
    ],
)
def test_a_due_date_that_is_not_a_yyyy_mm_dd_string_is_refused_naming_the_field(due, expected) -> None:
    found = problems(with_due(due))

    assert found == [f'{expected}; write the date as a string "YYYY-MM-DD", such as "2026-12-04"']


def test_a_due_date_string_is_still_held_to_the_31_day_rule() -> None:
    assert accepted(with_due("2026-12-18")).actions[0].due == date(2026, 12, 18)
    assert problems(with_due("2100-01-01")) == [
        "actions.0.due: 2100-01-01 is more than 31 days after the submission date (latest 2027-01-14)"
    ]


def test_a_due_date_on_a_weekend_is_refused_naming_the_working_day_before() -> None:
    assert problems(with_due("2026-12-20")) == [
        "actions.0.due: 2026-12-20 is a Sunday, not a working day; the nearest earlier working day is Friday 2026-12-18"
    ]


# --- rule 5: characters ---------------------------------------------------------------------


FREE_TEXT = {
    "strengths": lambda f, v: f.update(strengths=v),
    "practitioner_feedback": lambda f, v: f.update(practitioner_feedback=v),
    "family_feedback.0.summary": lambda f, v: f["family_feedback"][0].update(summary=v),
    "actions.0.description": lambda f, v: f["actions"][0].update(description=v),
    "immediate_response.reason": lambda f, v: f.update(immediate_response={"reason": v}),
}
ONE_LINE = {
    "family_feedback.0.relationship": lambda f, v: f["family_feedback"][0].update(relationship=v),
    "actions.0.owner_id": lambda f, v: f["actions"][0].update(owner_id=v),
}


def changed(field: str, value: str) -> dict:
    form = valid_form(OWNER, today=TODAY)
    {**FREE_TEXT, **ONE_LINE}[field](form, value)
    return form


@pytest.mark.parametrize("field", [*FREE_TEXT, *ONE_LINE])
@pytest.mark.parametrize("control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
                                     "\u2068", "\u2069"])
def test_every_text_field_refuses_bidirectional_controls(field: str, control: str) -> None:
    found = problems(changed(field, f"S{control}1"))

    assert len(found) == 1
    assert found[0].startswith(f"{field}: contains a bidirectional control character (U+{ord(control):04X} ")


@pytest.mark.parametrize("field", ONE_LINE)
@pytest.mark.parametrize("character", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_one_line_fields_refuse_zero_width_characters(field: str, character: str) -> None:
    found = problems(changed(field, f"S{character}1"))

    assert found == [f"{field}: contains an invisible character (U+{ord(character):04X} "
                     f"{unicodedata.name(character)}); type the value again without it"]


@pytest.mark.parametrize("field", ONE_LINE)
@pytest.mark.parametrize("character", ["\n", "\t", "\x00", "\x85", "\u2028"])
def test_one_line_fields_refuse_line_breaks_and_control_characters(field: str, character: str) -> None:
    found = problems(changed(field, f"S{character}1"))

    assert found == [f"{field}: contains a line break or another control character; give one line of plain text"]


@pytest.mark.parametrize("field", FREE_TEXT)
def test_free_text_keeps_line_breaks_tabs_and_joiners_but_not_other_controls(field: str) -> None:
    assert accepted(changed(field, "Line one\r\n\tline two, a family 👩\u200d👧 and a soft\u200bbreak"))

    assert problems(changed(field, "bell\x07")) == [
        f"{field}: contains a control character such as NUL; only text, line breaks and tabs are allowed"
    ]
