"""Good-practice nominations: the QA team asks each service manager for an example, and they nominate one.

The framework: "Children's records will be selected at random for audit. On occasion, Service Managers will be
asked to provide examples of good practice to capture learning." Each service manager is asked once a month, by
email with a link to the page where they nominate; a nomination becomes a good-practice audit at the draw, in
the place of a record drawn at random, so each service nominates at most `framework.good_practice_per_service`.
"""
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.text import text_problem
from auditcycle.links.tokens import issue_link
from auditcycle.models import Child, Nomination, Service, Staff, Team
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.nominations import compose_good_practice_ask
from auditcycle.notifications.notices import day_label, moment_label
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.people.directory import Directory
from auditcycle.people.permissions import Subject, authorise
from auditcycle.sampling.cycle import eligible_candidates, monthly_cycle
from auditcycle.sampling.schedule import draw_day

PHASE = "good-practice"
# The link's purpose; its subject is the month and the service (GP-2027-01-S3), its holder a service manager.
NOMINATE_LINK = "good-practice"
REASON_MAX = 2000
CASE_ID, REASON = "case_id", "reason"
_REF = re.compile(r"GP-(\d{4}-\d{2})-S(\d+)")


class NominationRefused(UserError):
    """A nomination the rules refuse, naming the field at fault (None: the nomination as a whole)."""

    def __init__(self, field_name: str | None, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


def ask_ref(month: Month, service_id: int) -> str:
    """Return the reference of one month's ask to one service, e.g. GP-2027-01-S3."""
    return f"GP-{month}-S{service_id}"


def parse_ask_ref(reference: str) -> tuple[Month, int]:
    """Return the month and service an ask's reference names."""
    match = _REF.fullmatch(reference)
    if match is None:
        raise UserError(f"{shown(reference)}: not the reference of a good-practice ask, such as GP-2027-01-S3")
    return Month.parse(match.group(1)), int(match.group(2))


def nomination_deadline(ctx: AppContext, month: Month) -> datetime:
    """Return when nominations for an audit month are asked by: the end of the last working day before its draw."""
    before = ctx.timescales.working_day_on_or_before(draw_day(ctx.timescales, month) - timedelta(days=1))
    return ctx.timescales.due_at(before)


@dataclass
class AskSummary:
    """What one ask did: the service managers asked now, those asked before, and the services not asked, and why."""

    month: Month
    deadline_label: str
    asked: int = 0
    already_asked: int = 0
    not_asked: list[str] = field(default_factory=list)


def ask_for_good_practice(session: Session, ctx: AppContext, *, month: Month, by: str) -> AskSummary:
    """Ask each service manager, once, for a good-practice example for a month's audit, by email with a link."""
    authorise(session, command="ask-good-practice", staff_id=by)
    if monthly_cycle(session, month) is not None:
        raise UserError(f"the {month.label} sample has already been drawn: ask for a later month")
    deadline = nomination_deadline(ctx, month)
    if ctx.now >= deadline:
        raise UserError(f"nominations for {month.label} were asked by {moment_label(deadline, ctx.tz)}, before "
                        "its draw: it is too late to ask; ask for a later month")
    framework = ctx.settings.framework
    summary = AskSummary(month=month, deadline_label=moment_label(deadline, ctx.tz))
    managers = Directory(session).service_managers
    caseload = dict(session.execute(select(Team.service_id, func.count(Child.id)).join(Child, Child.team_id == Team.id)
                                    .group_by(Team.service_id)).all())
    for service in session.scalars(select(Service).order_by(Service.name)):
        if not caseload.get(service.id):
            summary.not_asked.append(f"{service.name} (no children on its caseload)")
            continue
        if not managers.get(service.id):
            summary.not_asked.append(f"{service.name} (no service manager in post)")
            continue
        ref = ask_ref(month, service.id)
        key = MessageKey(PHASE, month, ref, "ask")
        for manager in managers[service.id]:
            url = issue_link(session, ctx, purpose=NOMINATE_LINK, subject_ref=ref, staff=manager, deadline=deadline,
                             key=f"{key.for_recipient(Recipient.of(manager))}:{NOMINATE_LINK}:{ref}")
            message = compose_good_practice_ask(
                recipient_name=manager.name, service_name=service.name, month=month,
                deadline_label=summary.deadline_label, draw_label=day_label(draw_day(ctx.timescales, month)),
                per_service=framework.good_practice_per_service,
                exclusion_months=framework.reaudit_exclusion_months, nominate_url=url)
            if enqueue(session, ctx, key, manager, message) is None:
                summary.already_asked += 1
            else:
                summary.asked += 1
    return summary


def nominations_of(session: Session, *, month: Month, service_id: int) -> list[Nomination]:
    """List a service's nominations for a month, first made first."""
    return list(session.scalars(
        select(Nomination).join(Child, Nomination.child_id == Child.id).join(Team, Child.team_id == Team.id)
        .where(Nomination.month == str(month), Team.service_id == service_id).order_by(Nomination.id)))


def _why_not_eligible(session: Session, ctx: AppContext, child: Child) -> str | None:
    """Say why the draw would leave the child out (eligible_candidates holds the rule), or None if it would not."""
    if eligible_candidates(session, ctx, only={child.id}):
        return None
    if child.key_worker_id is None:
        return "has no key worker, so cannot be audited: nominate an allocated child"
    months = ctx.settings.framework.reaudit_exclusion_months
    return f"was audited in the last {months} months, so is not audited again yet"


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise NominationRefused(REASON, "Say why the record is an example of good practice")
    if len(text) > REASON_MAX:
        raise NominationRefused(REASON, f"The reason is {len(text):,} characters; keep it to {REASON_MAX:,}")
    if problem := text_problem(text, multiline=True):
        raise NominationRefused(REASON, f"The reason {problem}")
    return text


def nominate(session: Session, ctx: AppContext, *, child_id: str, by: str, month: Month, reason: str) -> Nomination:
    """Record a service manager's nomination of a child in their service as good practice, before the month's draw."""
    case_id = (child_id or "").strip()
    child = session.get(Child, case_id) if case_id and not text_problem(case_id, multiline=False) else None
    if child is None:
        raise NominationRefused(CASE_ID, f"{shown(case_id) or 'The case id'}: no child has that case id")
    actor = authorise(session, command="nominate", staff_id=by, subject=Subject(child=child))
    text = _reason(reason)
    if monthly_cycle(session, month) is not None:
        raise NominationRefused(None, f"The {month.label} sample has already been drawn; nominate for a later month")
    existing = session.scalar(select(Nomination).where(Nomination.month == str(month), Nomination.child_id == child.id))
    if existing is not None:
        who = session.get(Staff, existing.nominated_by_id)
        raise NominationRefused(CASE_ID, f"{child.id} is already nominated for {month.label}, by {who.name}")
    if why := _why_not_eligible(session, ctx, child):
        raise NominationRefused(CASE_ID, f"{child.id} {why}")
    limit = ctx.settings.framework.good_practice_per_service
    made = session.scalar(
        select(func.count()).select_from(Nomination).join(Child, Nomination.child_id == Child.id)
        .join(Team, Child.team_id == Team.id)
        .where(Nomination.month == str(month), Team.service_id == actor.service_id)) or 0
    if made >= limit:
        service = session.get(Service, actor.service_id).name
        raise NominationRefused(None, f"{service} has already nominated a record for {month.label}: each service "
                                      "nominates one a month" if limit == 1 else
                                      f"{service} has already nominated {made} records for {month.label}: each "
                                      f"service nominates at most {limit} a month")
    nomination = Nomination(month=str(month), child_id=child.id, nominated_by_id=actor.id, nominated_at=ctx.now,
                            recorded_at=wall_clock(), reason=text)
    session.add(nomination)
    session.flush()
    return nomination
