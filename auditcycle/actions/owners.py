"""Who an audit form offers as an action's owner: the people around the child, then the rest of the child's team.

A list of every member of staff would make the form's page as large as the council (1,500 names in each
owner list); these are the people an audit's actions fall to. An owner already named on the form (a draft,
or a form sent as JSON) stays on offer, so opening the page again never drops a choice.
"""
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.models import Audit, Staff
from auditcycle.people.directory import Directory


def owner_choices(session: Session, audit: Audit, named: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Return (staff id, label) for each person the form offers as an action's owner, the child's people first."""
    child = audit.child
    choices = {p.staff.id: f"{p.staff.name} ({p.role})" for p in Directory(session).involved(child) if p.staff.active}
    team = child.team.name if child.team is not None else "the child's team"
    for staff in session.scalars(select(Staff).where(Staff.team_id == child.team_id, Staff.active)
                                 .order_by(Staff.name, Staff.id)):
        choices.setdefault(staff.id, f"{staff.name} ({team})")
    extra = set(named) - set(choices) - {""}
    for staff in session.scalars(select(Staff).where(Staff.id.in_(extra)).order_by(Staff.name)) if extra else []:
        choices.setdefault(staff.id, staff.name)
    return list(choices.items())
