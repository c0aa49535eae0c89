"""Observations recommended as part of an audit or a Personal Development Review, as the framework allows.

A recommendation puts the practitioner at the front of the next month's assignment, however recently
they were observed; the observation assigned then answers it.
"""
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.text import text_problem
from auditcycle.models import Observation, ObservationRecommendation, Staff
from auditcycle.models.enums import RecommendedFrom
from auditcycle.people.permissions import Subject, authorise
from auditcycle.storage.records import get_audit


def recommend(session: Session, ctx: AppContext, *, practitioner_id: str, by: str, audit_ref: str | None = None,
              note: str | None = None) -> ObservationRecommendation:
    """Recommend a practitioner for observation, from an audit (given) or else their PDR."""
    practitioner = session.get(Staff, practitioner_id)
    if practitioner is None or not practitioner.active:
        raise UserError(f"{shown(practitioner_id)}: no active member of staff has that id")
    audit = get_audit(session, audit_ref) if audit_ref else None
    authorise(session, command="observe-recommend", staff_id=by, subject=Subject(audit=audit, owner=practitioner))
    note = note.strip() if note and note.strip() else None
    if note and (problem := text_problem(note, multiline=True)):
        raise UserError(f"--note {problem}")
    if practitioner_id in open_recommendations(session):
        raise UserError(f"{practitioner_id} is already recommended for observation; the next assignment takes it")
    row = ObservationRecommendation(practitioner_id=practitioner.id, audit_id=audit.id if audit else None,
                                    source=RecommendedFrom.AUDIT if audit else RecommendedFrom.PDR, note=note,
                                    recommended_by_id=by, recommended_at=ctx.now)
    session.add(row)
    session.flush()
    return row


def open_recommendations(session: Session) -> set[str]:
    """Return the practitioners recommended for observation and not yet assigned one."""
    return set(session.scalars(select(ObservationRecommendation.practitioner_id)
                               .where(ObservationRecommendation.observation_id.is_(None))))


def answer_recommendations(session: Session, practitioner_ids: set[str], *, month: str) -> int:
    """Link each open recommendation to the observation its practitioner was assigned this month."""
    assigned = dict(session.execute(select(Observation.practitioner_id, Observation.id).where(
        Observation.month == month, Observation.practitioner_id.in_(practitioner_ids))).all())
    answered = 0
    for row in session.scalars(select(ObservationRecommendation).where(
            ObservationRecommendation.observation_id.is_(None),
            ObservationRecommendation.practitioner_id.in_(list(assigned)))):
        row.observation_id = assigned[row.practitioner_id]
        answered += 1
    session.flush()
    return answered
