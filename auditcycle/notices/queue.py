"""Who is told about each audit, and the notices queued when the month's audits are announced."""
import hashlib
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from auditcycle.core.context import AppContext
from auditcycle.models import Audit, AuditCycle, Child, Staff, Team
from auditcycle.models.enums import AuditKind, AuditStatus, Role
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import AllocationItem, NoticeItem, compose_notice, day_label
from auditcycle.notifications.outbox import enqueue

PHASE = "notify"
_child = selectinload(Audit.child)
# Everyone a notice or booking needs, loaded in a handful of queries rather than one per audit.
AUDIT_PEOPLE = (
    selectinload(Audit.auditor), selectinload(Audit.buddy), _child.selectinload(Child.team),
    _child.selectinload(Child.key_worker).selectinload(Staff.manager), _child.selectinload(Child.iro),
    _child.selectinload(Child.cp_chair), _child.selectinload(Child.contacts),
)
KIND_LABELS = {AuditKind.DEEP_DIVE: "deep dive", AuditKind.DIP_SAMPLE: "dip sample",
               AuditKind.GOOD_PRACTICE: "good practice example"}


def recipient(staff: Staff) -> Recipient:
    """Return a staff member as a message recipient."""
    return Recipient(staff_id=staff.id, name=staff.name, email=staff.email)


def mail_domain(ctx: AppContext) -> str:
    """Return the domain Message-IDs are made under: the QA mailbox's."""
    return str(ctx.settings.mail_from).rsplit("@", 1)[-1]


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

    def involved(self, child: Child) -> list[Involved]:
        """List everyone told about an audit of a child, other than the auditor."""
        people: list[Involved] = []
        if child.key_worker is not None:
            people.append(Involved(child.key_worker, "allocated key worker"))
        team_managers = self.team_managers.get(child.team_id) or (
            [child.key_worker.manager] if child.key_worker and child.key_worker.manager else [])
        people += [Involved(s, "team manager") for s in team_managers]
        people += [Involved(s, "service manager") for s in self.service_managers.get(child.team.service_id, [])]
        if child.iro is not None:
            people.append(Involved(child.iro, "independent reviewing officer"))
        if child.cp_chair is not None:
            people.append(Involved(child.cp_chair, "child protection chair"))
        seen: set[str] = set()
        return [p for p in people if not (p.staff.id in seen or seen.add(p.staff.id))]


def _digest_ref(month: str, refs: list[str]) -> str:
    return f"{month}-" + hashlib.sha256("|".join(sorted(refs)).encode()).hexdigest()[:12]


def queue_notices(session: Session, ctx: AppContext, *, cycle: AuditCycle) -> int:
    """Queue one digest per person involved and one allocation per auditor; mark the audits notified."""
    audits = list(session.scalars(
        select(Audit).where(Audit.cycle_id == cycle.id, Audit.status == AuditStatus.ALLOCATED).order_by(Audit.id)
        .options(*AUDIT_PEOPLE)))
    if not audits:
        return 0
    directory = Directory(session)
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    due = day_label(cycle.due_date)
    notices: dict[str, tuple[Staff, list[NoticeItem]]] = {}
    allocations: dict[str, tuple[Staff, list[AllocationItem]]] = {}
    for audit in audits:
        child, auditor = audit.child, audit.auditor
        for person in directory.involved(child):
            if auditor is not None and person.staff.id == auditor.id:
                continue
            notices.setdefault(person.staff.id, (person.staff, []))[1].append(NoticeItem(
                audit_ref=audit.reference, child_id=child.id, role=person.role,
                auditor_name=auditor.name if auditor else "to be confirmed", due_label=due))
        if auditor is not None:
            buddy = audit.buddy
            allocations.setdefault(auditor.id, (auditor, []))[1].append(AllocationItem(
                audit_ref=audit.reference, child_id=child.id, child_initials=child.initials,
                kind_label=KIND_LABELS[audit.kind], team=teams[child.team_id],
                buddy_name=buddy.name if buddy else None,
                buddy_note=f"Paired with experienced auditor {buddy.name}." if buddy else None))
            if buddy is not None:
                allocations.setdefault(buddy.id, (buddy, []))[1].append(AllocationItem(
                    audit_ref=audit.reference, child_id=child.id, child_initials=child.initials,
                    kind_label=f"{KIND_LABELS[audit.kind]} (buddy)", team=teams[child.team_id],
                    buddy_name=auditor.name, buddy_note=f"You support new auditor {auditor.name}."))
        audit.status = AuditStatus.NOTIFIED
    framework = ctx.settings.framework
    people = {staff.id: staff for staff, _ in [*notices.values(), *allocations.values()]}
    queued = 0
    for staff_id, staff in sorted(people.items()):
        items = notices.get(staff_id, (staff, []))[1]
        allocated = allocations.get(staff_id, (staff, []))[1]
        message = compose_notice(recipient_name=staff.name, month=cycle.month, due=cycle.due_date, items=items,
                                 allocated=allocated, lookback_months=framework.audit_lookback_months,
                                 guidance_url=framework.guidance_url)
        refs = [f"n:{i.audit_ref}" for i in items] + [f"a:{i.audit_ref}" for i in allocated]
        queued += enqueue(session, phase=PHASE, month=cycle.month, subject_ref=_digest_ref(cycle.month, refs),
                          step="notice", recipient=recipient(staff), message=message, now=ctx.now,
                          mail_domain=mail_domain(ctx)) is not None
    session.flush()
    return queued
