"""Who is told about each audit, and the notices queued when the month's audits are announced."""
import hashlib
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.booking.family_advice import ask_for_advice
from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.immediate_responses.supervision_gaps import COMMAND as GAP
from auditcycle.immediate_responses.supervision_gaps import since_label, suspected_gaps
from auditcycle.links.offer import offer_link
from auditcycle.links.tokens import issue_link
from auditcycle.models import Audit, AuditCycle, Staff, SupervisionGap, Team
from auditcycle.models.enums import AuditKind, AuditStatus
from auditcycle.notices.review import require_released
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import (
    AllocationItem,
    GapNote,
    NoticeItem,
    compose_notice,
    day_label,
    moment_label,
)
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.people.directory import AUDIT_PEOPLE, TEAM_MANAGER, Directory
from auditcycle.people.permissions import Subject, may

PHASE = "notify"
KIND_LABELS = {AuditKind.DEEP_DIVE: "deep dive", AuditKind.DIP_SAMPLE: "dip sample",
               AuditKind.GOOD_PRACTICE: "good practice example"}


def _gap_note(session: Session, ctx: AppContext, gap: SupervisionGap, audit: Audit,
              decider: Staff | None = None) -> GapNote:
    """Say what the records show; for the auditor who decides, with their link to confirm or dismiss the gap."""
    url = None
    if decider is not None and may(session, GAP, decider, Subject(audit=audit)):
        key = MessageKey(PHASE, audit.cycle.month, audit.reference, GAP).for_recipient(Recipient.of(decider))
        url = issue_link(session, ctx, purpose=GAP, subject_ref=audit.reference, staff=decider,
                         deadline=gap.decide_by, key=f"{key}:{GAP}")
    return GapNote(shown=since_label(gap), decide_by_label=moment_label(gap.decide_by, ctx.tz), decide_url=url)


def _family_link(session: Session, ctx: AppContext, cycle: AuditCycle, audit: Audit, key_worker: Staff) -> str:
    """Return the key worker's link to say how to reach the child's family, made once per audit."""
    key = MessageKey(PHASE, cycle.month, audit.reference, "family-advice").for_recipient(Recipient.of(key_worker))
    return issue_link(session, ctx, purpose="family-contact", subject_ref=audit.reference, staff=key_worker,
                      deadline=ctx.timescales.due_at(audit.due_date), key=f"{key}:family-contact")


def _digest_ref(month: Month, refs: list[str]) -> str:
    return f"{month}-" + hashlib.sha256("|".join(sorted(refs)).encode()).hexdigest()[:12]


def queue_notices(session: Session, ctx: AppContext, *, cycle: AuditCycle) -> int:
    """Queue one digest per person involved and one allocation per auditor; mark the audits notified.

    A monthly list still under the QA team's review is refused (auditcycle.notices.review).
    """
    require_released(cycle, ctx)
    # Locked so that a second run at the same moment waits, then finds the audits notified (PostgreSQL).
    audits = list(session.scalars(
        select(Audit).where(Audit.cycle_id == cycle.id, Audit.status == AuditStatus.ALLOCATED).order_by(Audit.id)
        .options(*AUDIT_PEOPLE).with_for_update(of=Audit)))
    if not audits:
        return 0
    directory = Directory(session)
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    due = day_label(cycle.due_date)
    gaps = suspected_gaps(session, [a.id for a in audits])
    notices: dict[str, tuple[Staff, list[NoticeItem]]] = {}
    allocations: dict[str, tuple[Staff, list[AllocationItem]]] = {}
    for audit in audits:
        child, auditor = audit.child, audit.auditor
        gap = _gap_note(session, ctx, gaps[audit.id], audit) if audit.id in gaps else None
        family_asked = ask_for_advice(session, ctx, audit)
        for person in directory.involved(child):
            if auditor is not None and person.staff.id == auditor.id:
                continue
            family_url = _family_link(session, ctx, cycle, audit, person.staff) \
                if family_asked and person.staff.id == child.key_worker_id else None
            notices.setdefault(person.staff.id, (person.staff, []))[1].append(NoticeItem(
                audit_ref=audit.reference, child_id=child.id, role=person.role,
                auditor_name=auditor.name if auditor else "to be confirmed", due_label=due,
                gap=gap if person.role == TEAM_MANAGER else None, family_url=family_url))
        if auditor is not None:
            buddy = audit.buddy
            allocations.setdefault(auditor.id, (auditor, []))[1].append(AllocationItem(
                audit_ref=audit.reference, child_id=child.id, child_initials=child.initials,
                kind_label=KIND_LABELS[audit.kind], team=teams[child.team_id],
                buddy_name=buddy.name if buddy else None,
                buddy_note=f"Paired with experienced auditor {buddy.name}." if buddy else None,
                gap=_gap_note(session, ctx, gaps[audit.id], audit, auditor) if gap else None))
            if buddy is not None:
                allocations.setdefault(buddy.id, (buddy, []))[1].append(AllocationItem(
                    audit_ref=audit.reference, child_id=child.id, child_initials=child.initials,
                    kind_label=f"{KIND_LABELS[audit.kind]} (buddy)", team=teams[child.team_id],
                    buddy_name=auditor.name, buddy_note=f"You support new auditor {auditor.name}."))
        audit.status = AuditStatus.NOTIFIED
    framework = ctx.settings.framework
    by_ref = {a.reference: a for a in audits}
    people = {staff.id: staff for staff, _ in [*notices.values(), *allocations.values()]}
    queued = 0
    for staff_id, staff in sorted(people.items()):
        items = notices.get(staff_id, (staff, []))[1]
        allocated = allocations.get(staff_id, (staff, []))[1]
        refs = [f"n:{i.audit_ref}" for i in items] + [f"a:{i.audit_ref}" for i in allocated]
        key = MessageKey(PHASE, cycle.month, _digest_ref(cycle.month, refs), "notice")
        # The auditor's own audits open the form from the notice; a buddy's copy of the pairing does not.
        allocated = [replace(i, form_url=offer_link(
            session, ctx, purpose="audit-form", command="submit", subject=Subject(audit=by_ref[i.audit_ref]),
            subject_ref=i.audit_ref, person=staff, key=key, deadline=cycle.due_date))
            if by_ref[i.audit_ref].auditor_id == staff_id else i for i in allocated]
        message = compose_notice(recipient_name=staff.name, month=cycle.month, due=cycle.due_date, items=items,
                                 allocated=allocated, lookback_months=framework.audit_lookback_months,
                                 guidance_url=framework.guidance_url, gap_months=framework.supervision_gap_months,
                                 response_hours=framework.immediate_response_hours,
                                 family_wait_days=framework.family_advice_wait_working_days)
        queued += enqueue(session, ctx, key, staff, message) is not None
    session.flush()
    return queued
