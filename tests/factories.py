"""Factories: the rows a test needs, made explicitly and named, each with plain defaults.

Tests that need a whole authority use the `authority` fixture (the demo generator); a test about one
rule builds only the people and children the rule looks at, so its arrangement reads on the page.
"""
import itertools
from datetime import date

from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext, build_context
from auditcycle.core.settings import Settings
from auditcycle.models import Child, FamilyContact, Service, Staff, Team
from auditcycle.models.enums import Cohort, Role

_numbers = itertools.count(1)
DEFAULT_SETTINGS = Settings(database_url="sqlite://")


def context_at(now: str, settings: Settings | None = None) -> AppContext:
    """Return the context of a command or run at a local time, with the framework's defaults unless given."""
    return build_context(now, settings=settings or DEFAULT_SETTINGS)


def service(session: Session, name: str | None = None) -> Service:
    """Add a service."""
    row = Service(name=name or f"Service {next(_numbers)}")
    session.add(row)
    session.flush()
    return row


def team(session: Session, name: str | None = None, *, of: Service | None = None) -> Team:
    """Add a team, in a new service unless one is given."""
    row = Team(name=name or f"Team {next(_numbers)}", service_id=(of or service(session)).id)
    session.add(row)
    session.flush()
    return row


def staff(session: Session, staff_id: str | None = None, role: Role = Role.KEY_WORKER, *, in_team: Team | None = None,
          in_service: Service | None = None, manager: Staff | None = None, auditor: bool = False,
          new_auditor: bool = False, name: str | None = None) -> Staff:
    """Add a member of staff; an auditor or practitioner is named and mailed by id unless told otherwise."""
    staff_id = staff_id or f"S{next(_numbers):04d}"
    row = Staff(id=staff_id, name=name or f"Person {staff_id}", email=f"{staff_id.lower()}@council.example",
                role=role, team_id=in_team.id if in_team else None,
                service_id=(in_service.id if in_service else in_team.service_id if in_team else None),
                manager_id=manager.id if manager else None, auditor=auditor, new_auditor=new_auditor)
    session.add(row)
    session.flush()
    return row


def child(session: Session, child_id: str | None = None, *, in_team: Team, key_worker: Staff | None,
          cohort: Cohort = Cohort.CHILD_IN_NEED, iro: Staff | None = None, cp_chair: Staff | None = None,
          born: date = date(2015, 6, 1), last_supervision: date | None = None, first_name: str = "Alex",
          last_name: str = "Example") -> Child:
    """Add a child on a team's caseload, allocated to a key worker (None: unallocated)."""
    row = Child(id=child_id or f"C{next(_numbers):06d}", first_name=first_name, last_name=last_name,
                date_of_birth=born, cohort=cohort, team_id=in_team.id,
                key_worker_id=key_worker.id if key_worker else None, iro_id=iro.id if iro else None,
                cp_chair_id=cp_chair.id if cp_chair else None, last_supervision_date=last_supervision)
    session.add(row)
    session.flush()
    return row


def contact(session: Session, of: Child, *, relation: str = "mother", name: str = "Sam Example",
            phone: str | None = None) -> FamilyContact:
    """Add a family contact of a child."""
    row = FamilyContact(child_id=of.id, relation=relation, name=name, phone=phone)
    session.add(row)
    session.flush()
    return row


def approve_list_at(session: Session, now: str, month: str = "2026-12") -> None:
    """Approve a drawn monthly list as the first QA manager, so its notices may go at once (notices/review.py)."""
    from sqlalchemy import select

    from auditcycle.core.clock import Month
    from auditcycle.notices.review import approve_list
    from auditcycle.sampling.cycle import require_monthly_cycle

    manager = session.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER).order_by(Staff.id)).first()
    approve_list(session, build_context(now), cycle=require_monthly_cycle(session, Month.parse(month)),
                 by=manager.id)


def open_action(session: Session, engine, settings: Settings, *, due: date, description: str,
                submitted: date = date(2026, 12, 1)):
    """Draw one December audit, announce it, submit its form with one action for the key worker; return the action.

    The setup's mail is delivered, so the next message the test sees is the one it caused.
    """
    from forms import valid_form
    from sqlalchemy import select

    from auditcycle.core.clock import Month
    from auditcycle.models import Action, Audit
    from auditcycle.notices.queue import queue_notices
    from auditcycle.notifications.gateway import deliver
    from auditcycle.sampling.cycle import draw, monthly_cycle
    from auditcycle.submissions.submit import submit

    december = Month(2026, 12)
    draw(session, build_context("2026-11-23T09:00", settings=settings), month=december, size=1, seed=21)
    session.commit()
    queue_notices(session, build_context("2026-11-24T12:00", settings=settings), cycle=monthly_cycle(session, december))
    session.commit()
    [audit] = session.scalars(select(Audit))
    owner = audit.child.key_worker
    form = valid_form(owner.id, today=submitted)
    form["actions"] = [{"description": description, "owner_id": owner.id, "due": due.isoformat()}]
    submit(session, build_context(f"{submitted}T10:00", settings=settings), reference=audit.reference, data=form,
           by=audit.auditor_id)
    session.commit()
    deliver(engine=engine, settings=settings)
    [only] = session.scalars(select(Action))
    return only
