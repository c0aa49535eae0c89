"""Who is who: message recipients, the managers around a team, the panel and the assistant directors.

Every message's recipients are worked out from here, as de-duplicated lists of frozen recipients.
"""
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from auditcycle.models import Audit, Child, Service, Staff
from auditcycle.models.enums import Role
from auditcycle.notifications.message import Recipient
from auditcycle.storage.transactions import transaction_info

T = TypeVar("T")

_child = selectinload(Audit.child)
# Everyone a notice or booking needs, loaded in a handful of queries rather than one per audit.
AUDIT_PEOPLE = (
    selectinload(Audit.auditor), selectinload(Audit.buddy), _child.selectinload(Child.team),
    _child.selectinload(Child.key_worker).selectinload(Staff.manager), _child.selectinload(Child.iro),
    _child.selectinload(Child.cp_chair), _child.selectinload(Child.contacts),
)


def recipient(staff: Staff) -> Recipient:
    """Return a staff member as a message recipient."""
    return Recipient.of(staff)



TEAM_MANAGER = "team manager"  # the capacity in which the key worker's team manager is told


@dataclass(frozen=True)
class Involved:
    """Someone told about an audit, and in what capacity."""

    staff: Staff
    role: str


class Directory:
    """Look-ups of the managers around a team, loaded once per run."""

    def __init__(self, session: Session) -> None:
        self.team_managers: dict[int, list[Staff]] = defaultdict(list)
        self.service_managers: dict[int, list[Staff]] = defaultdict(list)
        for staff in session.scalars(select(Staff).where(
                Staff.active, Staff.role.in_([Role.TEAM_MANAGER, Role.SERVICE_MANAGER])).order_by(Staff.id)):
            if staff.role == Role.TEAM_MANAGER and staff.team_id is not None:
                self.team_managers[staff.team_id].append(staff)
            elif staff.role == Role.SERVICE_MANAGER and staff.service_id is not None:
                self.service_managers[staff.service_id].append(staff)
        self.qa_managers = list(session.scalars(
            select(Staff).where(Staff.active, Staff.role == Role.QA_MANAGER).order_by(Staff.id)))

    @classmethod
    def of(cls, session: Session) -> "Directory":
        """Return the transaction's directory, loaded at its first use: a run of many submissions reads staff once."""
        known = transaction_info(session)
        if "people.directory" not in known:
            known["people.directory"] = cls(session)
        return known["people.directory"]

    def involved(self, child: Child) -> list[Involved]:
        """List everyone told about an audit of a child, other than the auditor."""
        people: list[Involved] = []
        if child.key_worker is not None:
            people.append(Involved(child.key_worker, "allocated key worker"))
        people += [Involved(s, TEAM_MANAGER) for s in self.team_managers_of(child)]
        people += [Involved(s, "service manager") for s in self.service_managers.get(child.team.service_id, [])]
        if child.iro is not None:
            people.append(Involved(child.iro, "independent reviewing officer"))
        if child.cp_chair is not None:
            people.append(Involved(child.cp_chair, "child protection chair"))
        return distinct(people, key=lambda p: p.staff.id)

    def team_managers_of(self, child: Child) -> list[Staff]:
        """Return the managers of the child's team, or the key worker's own manager when the team has none."""
        return self.team_managers.get(child.team_id) or (
            [child.key_worker.manager] if child.key_worker and child.key_worker.manager else [])


def distinct(people: Iterable[T | None], key: Callable[[T], str] = lambda staff: staff.id) -> list[T]:
    """Return each person once (by staff id), in the order first given, skipping the missing."""
    first: dict[str, T] = {}
    for person in people:
        if person is not None:
            first.setdefault(key(person), person)
    return list(first.values())


def recipients(people: Iterable[Staff | None]) -> list[Recipient]:
    """Return people as message recipients, each once, in the order first given, skipping the missing."""
    return [recipient(staff) for staff in distinct(people)]


def staff_with_role(session: Session, role: Role) -> list[Staff]:
    """Return the active staff with a role, by id."""
    return list(session.scalars(select(Staff).where(Staff.active, Staff.role == role).order_by(Staff.id)))


def assistant_directors(session: Session) -> list[Staff]:
    """Return the active assistant directors."""
    return staff_with_role(session, Role.ASSISTANT_DIRECTOR)


def service_managers_for(session: Session, child: Child) -> list[Staff]:
    """Return the service managers of the child's team, or the assistant directors when there are none."""
    managers = Directory(session).service_managers.get(child.team.service_id, [])
    return managers or assistant_directors(session)


def moderation_panel(session: Session, service: str) -> list[Staff]:
    """Return the moderation panel: the principal social worker and the named review unit's service managers.

    Read once a transaction: a selection checks the panel for each of its hundreds of links.
    """
    known: dict[str, list[Staff]] = transaction_info(session).setdefault("people.panel", {})
    if service not in known:
        known[service] = list(session.scalars(
            select(Staff).outerjoin(Service, Staff.service_id == Service.id).where(
                Staff.active,
                (Staff.role == Role.PRINCIPAL_SOCIAL_WORKER)
                | ((Staff.role == Role.SERVICE_MANAGER) & (Service.name == service)))
            .order_by(Staff.id)))
    return list(known[service])
