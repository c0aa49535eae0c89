"""Build audit forms for tests."""
from datetime import date, timedelta

from auditcycle.core.settings import DEFAULT_DOMAINS


def valid_form(owner_id: str, *, today: date, overall: str = "requires_improvement", grade: str = "good",
               **extra) -> dict:
    """Return a complete, valid form with one action due in two weeks."""
    form = {
        "grades": {d: grade for d in DEFAULT_DOMAINS},
        "overall": overall,
        "strengths": "Clear, warm recording of the child's wishes.",
        "practitioner_feedback": "Reflective conversation; keen to update the chronology.",
        "family_feedback": [{"relationship": "mother", "outcome": "spoke", "interpreter_used": False,
                             "summary": "Felt listened to."}],
        "actions": [{"description": "Update the chronology", "owner_id": owner_id,
                     "due": (today + timedelta(days=14)).isoformat()}],
        "immediate_response": None,
        "disagreement": False,
    }
    form.update(extra)
    return form
