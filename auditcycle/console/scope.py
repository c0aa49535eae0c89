"""Which audits, actions and Immediate Responses a signed-in member of staff sees in the console, and whether
the children's names are shown to them: the one place this rule lives (the tracker, its exports and its
Immediate Responses all ask it).

- The QA team sees every audit, with the children's names; an assistant director every audit, by case id only.
- A service manager sees their service's audits; a team manager their team's, their own cases' and those of
  the practitioners they manage; a practitioner the audits of the children whose key worker they are.
- An audit counts where it was done (the key worker, team and service it recorded) and where the child's case
  is now: the manager who must answer an Immediate Response today sees it, and so does the one told at the draw.
- Actions: those of the audits in scope, and those the person owns (a team manager: also those their
  practitioners own).
- Names are shown to the QA team and to the child's own service manager, team manager and key worker, which is
  everyone else whose scope is not every audit.
"""
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from auditcycle.core.errors import PermissionDenied
from auditcycle.models import Action, Audit, Child, Staff, Team
from auditcycle.models.enums import QA_TEAM_ROLES, Role
from auditcycle.people.permissions import authorise

TRACKER = "tracker"


class Reach(StrEnum):
    """How far a person's view of the audits goes."""

    EVERY = "every"
    SERVICE = "service"
    TEAM = "team"
    OWN = "own"


@dataclass(frozen=True)
class Scope:
    """What one signed-in person sees: how far, from where, and whether with the children's names."""

    staff_id: str
    reach: Reach
    service_id: int | None
    team_id: int | None
    names: bool
    label: str

    def _managed(self):  # noqa: ANN202
        return select(Staff.id).where(Staff.manager_id == self.staff_id)

    def _children(self) -> list[ColumnElement[bool]]:
        """Conditions on a child whose case is in this person's part now."""
        if self.reach == Reach.SERVICE:
            return [] if self.service_id is None else [
                Child.team_id.in_(select(Team.id).where(Team.service_id == self.service_id))]
        if self.reach == Reach.TEAM:
            return [Child.key_worker_id == self.staff_id, Child.key_worker_id.in_(self._managed())] + (
                [] if self.team_id is None else [Child.team_id == self.team_id])
        return [Child.key_worker_id == self.staff_id]

    def audits(self) -> ColumnElement[bool]:
        """Return the condition an audit meets when this person may see it."""
        if self.reach == Reach.EVERY:
            return true()
        if self.reach == Reach.SERVICE:
            recorded = [] if self.service_id is None else [Audit.service_id == self.service_id]
        elif self.reach == Reach.TEAM:
            recorded = [Audit.key_worker_id == self.staff_id, Audit.key_worker_id.in_(self._managed())] + (
                [] if self.team_id is None else [Audit.team_id == self.team_id])
        else:
            recorded = [Audit.key_worker_id == self.staff_id]
        now = self._children()
        clauses = recorded + ([Audit.child_id.in_(select(Child.id).where(or_(*now)))] if now else [])
        return or_(*clauses) if clauses else false()

    def actions(self) -> ColumnElement[bool]:
        """Return the condition an action (joined to its audit) meets when this person may see it."""
        if self.reach == Reach.EVERY:
            return true()
        owners = [Action.owner_id == self.staff_id] + (
            [Action.owner_id.in_(self._managed())] if self.reach == Reach.TEAM else [])
        return or_(self.audits(), *owners)


def scope_of(staff: Staff) -> Scope:
    """Return what a member of staff allowed the tracker sees (the permission table says who is)."""
    if staff.role in QA_TEAM_ROLES:
        return Scope(staff.id, Reach.EVERY, None, None, names=True, label="Every service")
    if staff.role == Role.ASSISTANT_DIRECTOR:
        return Scope(staff.id, Reach.EVERY, None, None, names=False, label="Every service, by case id")
    if staff.role == Role.SERVICE_MANAGER:
        where = staff.service.name if staff.service else "no service on your staff record"
        return Scope(staff.id, Reach.SERVICE, staff.service_id, None, names=True, label=f"Your service: {where}")
    if staff.role == Role.TEAM_MANAGER:
        where = staff.team.name if staff.team else "no team on your staff record"
        return Scope(staff.id, Reach.TEAM, staff.service_id, staff.team_id, names=True, label=f"Your team: {where}")
    if staff.role == Role.KEY_WORKER:
        return Scope(staff.id, Reach.OWN, staff.service_id, staff.team_id, names=True, label="Your cases")
    raise PermissionDenied(f"{staff.id} ({staff.role.value.replace('_', ' ')}) has no part of the tracker")


def scope_for(session: Session, *, staff_id: str) -> Scope:
    """Return what the signed-in person sees in the tracker, or refuse someone the permission table does not allow."""
    return scope_of(authorise(session, command=TRACKER, staff_id=staff_id))
