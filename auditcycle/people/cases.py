"""Who and where a child's case is: its key worker, team, the team's service and the child's cohort.

An audit keeps these as they were, so that trends and the report count it where it was done: they are
taken from the child when the audit is drawn (the monthly draw, a replacement, an ad-hoc draw), taken
once more when its form is first submitted, and never change after that. Notices, bookings and
reminders between the draw and the submission leave them alone: they tell whoever holds the case now.
"""
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.models import Audit, Child, Staff, Team
from auditcycle.models.enums import Cohort


@dataclass(frozen=True)
class Case:
    """Who and where one child's case is."""

    key_worker_id: str | None
    team_id: int
    service_id: int
    cohort: Cohort

    def record_on(self, audit: Audit) -> None:
        """Write this case's key worker, team, service and cohort onto an audit."""
        audit.key_worker_id = self.key_worker_id
        audit.team_id = self.team_id
        audit.service_id = self.service_id
        audit.cohort = self.cohort


def cases_of(session: Session, child_ids: Iterable[str]) -> dict[str, Case]:
    """Read who and where each child's case is now, by child id, in one query."""
    ids = sorted(set(child_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Child.id, Child.key_worker_id, Child.team_id, Team.service_id, Child.cohort)
        .join(Team, Child.team_id == Team.id).where(Child.id.in_(ids)))
    return {cid: Case(key_worker_id=kw, team_id=team, service_id=service, cohort=cohort)
            for cid, kw, team, service, cohort in rows}


def case_of(session: Session, child_id: str) -> Case:
    """Read who and where one child's case is now."""
    return cases_of(session, [child_id])[child_id]


def audited_key_worker(session: Session, audit: Audit) -> Staff | None:
    """Return the key worker an audit kept, while they are an active member of staff."""
    worker = session.get(Staff, audit.key_worker_id) if audit.key_worker_id else None
    return worker if worker is not None and worker.active else None
