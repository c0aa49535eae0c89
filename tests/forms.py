"""Build audit forms for tests."""
from datetime import date, timedelta

from auditcycle.core.settings import DEFAULT_DOMAINS, FrameworkSettings
from auditcycle.core.timescales import Timescales

# The default framework's calendar: a form's action must fall due on one of its working days.
CALENDAR = Timescales(FrameworkSettings(), "Europe/London")


def due_in_two_weeks(today: date) -> date:
    """Return the working day on or before two weeks after a day: a valid due date for an action set then."""
    return CALENDAR.working_day_on_or_before(today + timedelta(days=14))


def valid_form(owner_id: str, *, today: date, overall: str = "requires_improvement", grade: str = "good",
               **extra) -> dict:
    """Return a complete, valid form with one action due in two weeks (the working day on or before)."""
    form = {
        "grades": {d: grade for d in DEFAULT_DOMAINS},
        "overall": overall,
        "strengths": "Clear, warm recording of the child's wishes.",
        "practitioner_feedback": "Reflective conversation; keen to update the chronology.",
        "family_feedback": [{"relationship": "mother", "outcome": "spoke", "interpreter_used": False,
                             "summary": "Felt listened to."}],
        "actions": [{"description": "Update the chronology", "owner_id": owner_id,
                     "due": due_in_two_weeks(today).isoformat()}],
        "immediate_response": None,
        "disagreement": False,
    }
    form.update(extra)
    return form
