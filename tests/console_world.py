"""A month of audits as the console's role tests see it: December drawn and announced, some forms in (with
actions), Immediate Responses raised; every child with a name of their own; and one person for each role.

`sees` restates, over the rows, who may see which audit (README, "The QA console"), so the tests check the
console's one rule (auditcycle/console/scope.py) against an independent statement of it.
"""
from collections import Counter
from dataclasses import dataclass
from datetime import date

from forms import valid_form
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import Settings
from auditcycle.immediate_responses.lifecycle import raise_ir
from auditcycle.models import Action, Audit, Child, ImmediateResponse, Staff, Team
from auditcycle.models.enums import QA_TEAM_ROLES, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.submit import submit

DEC = Month(2026, 12)
# The web's clock: the first Immediate Response (raised 14 December at 11:00) has an hour left.
NOW = "2026-12-15T10:00"
QA = frozenset({"qa_manager", "qa_officer"})
STAFF = QA | {"assistant_director", "service_manager", "team_manager", "practitioner"}
NAMED = STAFF - {"assistant_director"}


def child_name(case_id: str) -> str:
    """Return the name the world gives a child: their own, so a page showing it can be caught."""
    return f"Kit Surname{case_id}"


@dataclass(frozen=True)
class Audited:
    """One audit's facts that decide who sees it."""

    reference: str
    case_id: str
    team_id: int
    service_id: int
    key_worker_id: str | None
    child_team_id: int
    child_service_id: int
    child_key_worker_id: str | None


@dataclass
class World:
    """The month, and the staff id of the person holding each role."""

    people: dict[str, str]
    audits: dict[str, Audited]
    managers: dict[str, str | None]  # staff id: their line manager's

    def sees(self, role: str, audit: Audited) -> bool:
        """Say whether the person in this role may see the audit, restated from the README's words."""
        me = self.people[role]
        if role in QA or role == "assistant_director":
            return True
        if role == "service_manager":
            service = self.service_of[me]
            return service is not None and service in (audit.service_id, audit.child_service_id)
        if role == "team_manager":
            team = self.team_of[me]
            workers = {audit.key_worker_id, audit.child_key_worker_id} - {None}
            return (team in (audit.team_id, audit.child_team_id) or me in workers
                    or any(self.managers.get(worker) == me for worker in workers))
        if role == "practitioner":
            return me in (audit.key_worker_id, audit.child_key_worker_id)
        return False

    service_of: dict[str, int | None]
    team_of: dict[str, int | None]

    def case_ids(self, role: str) -> set[str]:
        """Return the case ids of the audits the person in this role may see."""
        return {a.case_id for a in self.audits.values() if self.sees(role, a)}


def build_world(s: Session, settings: Settings) -> World:
    """Draw and announce December, submit four forms, raise two Immediate Responses; pick a person per role."""
    for child in s.scalars(select(Child)):
        child.first_name, child.last_name = child_name(child.id).split(" ", 1)
    s.commit()
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=30, seed=3)
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=monthly_cycle(s, DEC))
    s.commit()
    audits = list(s.scalars(select(Audit).order_by(Audit.id)))
    # The practitioner's audit comes first: one whose key worker is a practitioner with a team manager.
    # whose team has another practitioner's audit this month, so the team manager sees more than they do.
    workers = {(a.team_id, a.child.key_worker_id) for a in audits}
    per_team = Counter(team for team, _ in workers)
    audits.sort(key=lambda a: not (a.child.key_worker is not None and a.child.key_worker.role == Role.KEY_WORKER
                                   and a.child.key_worker.manager is not None
                                   and a.child.key_worker.manager.role == Role.TEAM_MANAGER
                                   and per_team[a.team_id] > 1))
    first = audits[0]
    ctx = build_context("2026-12-14T10:00", settings=settings)
    for audit, overall in zip(audits[:4], ["inadequate", "good", "requires_improvement", "good"]):
        owner = audit.child.key_worker_id or audit.auditor_id
        submit(s, ctx, reference=audit.reference, by=audit.auditor_id,
               data=valid_form(owner, today=date(2026, 12, 14), overall=overall, grade=overall))
    for audit in (first, audits[-1]):
        raise_ir(s, build_context("2026-12-14T11:00", settings=settings), reference=audit.reference,
                 by=audit.auditor_id, reason="A safeguarding concern")
    s.commit()

    worker = first.child.key_worker
    def first_of(role: Role, **where) -> str:  # noqa: ANN003
        query = select(Staff.id).where(Staff.role == role, Staff.active).order_by(Staff.id)
        for column, value in where.items():
            query = query.where(getattr(Staff, column) == value)
        return s.scalars(query).first()

    people = {
        "qa_manager": first_of(Role.QA_MANAGER),
        "qa_officer": first_of(Role.PRACTICE_IMPROVEMENT_MANAGER),
        "assistant_director": first_of(Role.ASSISTANT_DIRECTOR),
        "service_manager": first_of(Role.SERVICE_MANAGER, service_id=first.child.team.service_id),
        "team_manager": worker.manager_id,
        "practitioner": worker.id,
        "leaver": s.scalars(select(Staff.id).where(Staff.role == Role.KEY_WORKER, Staff.active,
                                                   Staff.id != worker.id).order_by(Staff.id)).first(),
        "iro": first_of(Role.IRO),
    }
    teams = {t.id: t.service_id for t in s.scalars(select(Team))}
    audited = {a.reference: Audited(
        reference=a.reference, case_id=a.child_id, team_id=a.team_id, service_id=a.service_id,
        key_worker_id=a.key_worker_id, child_team_id=a.child.team_id, child_service_id=teams[a.child.team_id],
        child_key_worker_id=a.child.key_worker_id) for a in s.scalars(select(Audit))}
    staff = list(s.scalars(select(Staff)))
    assert not any(s.get(Staff, people[r]).role in QA_TEAM_ROLES for r in ("team_manager", "practitioner"))
    world = World(people=people, audits=audited, managers={p.id: p.manager_id for p in staff},
                  service_of={p.id: p.service_id for p in staff}, team_of={p.id: p.team_id for p in staff})
    s.commit()
    return world


def responses_of(s: Session) -> dict[str, str]:
    """Map each Immediate Response's reference to its audit's."""
    return dict(s.execute(select(ImmediateResponse.reference, Audit.reference)
                          .join(Audit, ImmediateResponse.audit_id == Audit.id)).all())


def actions_of(s: Session) -> dict[str, tuple[str, str]]:
    """Map each action's reference to its audit's and its owner's."""
    return {ref: (audit, owner) for ref, audit, owner in s.execute(
        select(Action.reference, Audit.reference, Action.owner_id).join(Audit, Action.audit_id == Audit.id))}
