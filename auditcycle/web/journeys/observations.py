"""Record an observation of practice done: the assigned observer's page, from their assignment or reminder."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from sqlalchemy.orm import Session
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from auditcycle.core.context import AppContext
from auditcycle.models import Link, Staff
from auditcycle.models.enums import ObservationStatus
from auditcycle.notifications.notices import day_label, month_label
from auditcycle.observations.assignment import (
    KIND_LABELS,
    OBSERVATION_TYPES,
    RECORD_LINK,
    get_observation,
    record_observation,
)
from auditcycle.privacy.redaction import Redactor
from auditcycle.web.acts import Journey, journey

NOTE_MAX = 2000


class ObservationDoneForm(FlaskForm):
    """What was observed, and a note for the record."""

    kind = RadioField("What did you observe?", widget=GovRadioInput(),
                      choices=[(kind.value, label) for kind, label in OBSERVATION_TYPES.items()],
                      validators=[InputRequired(message="Select what you observed")])
    note = TextAreaField("What you saw, and any feedback given (optional)", widget=GovTextArea(),
                         validators=[Optional(), Length(max=NOTE_MAX,
                                                        message=f"The note must be {NOTE_MAX:,} characters or fewer")],
                         description="Refer to any child by case id. Do not include names.")
    submit = SubmitField("Record as done", widget=GovSubmitInput())


def _show(session: Session, ctx: AppContext, link: Link) -> dict:
    observation = get_observation(session, link.subject_ref)
    practitioner = session.get(Staff, observation.practitioner_id)
    team = practitioner.team.name if practitioner.team is not None else None
    kind = KIND_LABELS.get(practitioner.role, practitioner.role.value.replace("_", " "))
    # A theme is typed for the month, about no one child, so it is redacted for the whole caseload.
    theme = Redactor.for_caseload(session).optional(observation.theme)
    return {"caption": f"Observation {observation.reference}", "title": "Record the observation of practice",
            "practitioner": f"{practitioner.name} ({kind}{', ' + team if team else ''})",
            "month_label": month_label(observation.month), "due_label": day_label(observation.due_date),
            "theme": theme or "none set for this month", "asye": observation.asye,
            "open": observation.status == ObservationStatus.ASSIGNED}


def _record(session: Session, ctx: AppContext, link: Link, form: ObservationDoneForm) -> str:
    observation = record_observation(session, ctx, reference=link.subject_ref, by=link.staff_id,
                                     kind=form.kind.data, note=form.note.data or "")
    observed = OBSERVATION_TYPES[observation.kind]
    return f"Observation {observation.reference} is recorded as done: {observed[0].lower()}{observed[1:]}."


journey(Journey(RECORD_LINK, "journeys/observation_done.html", ObservationDoneForm, _show, _record))
