"""Every role against every command of the table of who may do what, through the functions the CLI calls.

The rows are the nine roles of the framework, each held by a newcomer related to nothing, and
the nine relations the table names (the audit's auditor, the child's key worker and their team and
service managers, a moderation panel member, the practice improvement manager assigned to the audit,
an action's owner and their line manager, the assigned observer). Each cell really attempts the
command on a month taken as far as moderation, inside a savepoint: an allowed attempt must succeed,
a refused one must raise PermissionDenied without writing anything. The expected answer of each cell
comes from the README's table, restated below over the facts of the person and the subject.
"""
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from figures import report
from forms import valid_form
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from auditcycle.console.access_log import search_access_log
from auditcycle.console.mail import retry_message
from auditcycle.console.sessions import start_session
from auditcycle.console.tracker import Tab, tracker_view
from auditcycle.core.errors import PermissionDenied
from auditcycle.models import (
    Action,
    Audit,
    AuditCycle,
    Base,
    Child,
    FamilyAdvice,
    ImmediateResponse,
    MakeADifference,
    Meeting,
    Moderation,
    Observation,
    OutboxMessage,
    Service,
    Staff,
    Team,
    TrendFlag,
)
from auditcycle.models.enums import ActionStatus, AuditStatus, MeetingStatus, MessageStatus, ObservationStatus, Role
from auditcycle.people.permissions import PERMISSIONS

QA_TEAM = {Role.QA_MANAGER, Role.PRACTICE_IMPROVEMENT_MANAGER, Role.PRINCIPAL_SOCIAL_WORKER}
RELATIONS = ["auditor of the audit", "child's key worker", "key worker's team manager",
             "service manager of the child's team", "moderation panel member", "PIM assigned to the audit",
             "action owner", "owner's line manager", "assigned observer"]
CELL_NOW = "2027-01-05T10:00"
WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Subjects:
    """What each command acts on, in a month taken as far as moderation."""

    unsubmitted: Audit      # submit
    moderated: Audit        # raise-ir, dispute, moderate: in moderation, with an assigned PIM
    awaiting: Audit         # agree-moderation: the panel has agreed a good grade, no assistant director yet
    response: ImmediateResponse
    allocated: Audit        # replace, withdraw: drawn but not yet announced
    meeting: Meeting        # reschedule, cant-make
    open_action: Action     # action-done
    done_action: Action     # action-sign-off
    observation: Observation
    mad: MakeADifference    # mad-approve: a draft summary
    panel_service: str
    nominee: Child          # nominate: a child never audited, in a service with a service manager
    flag: TrendFlag         # trend-follow-up: a trend flag raised on the moderated audit's service


def _month_to_moderation(s: Session) -> None:
    """Draw, announce and book December; submit, raise, observe and select for moderation; draw later months."""
    from auditcycle.actions.ladder import mark_done
    from auditcycle.core.context import build_context
    from auditcycle.immediate_responses.lifecycle import raise_ir
    from auditcycle.learning.culture import draft_summaries
    from auditcycle.moderation.panel import agree_moderation, record_moderation
    from auditcycle.submissions.submit import submit
    from auditcycle.tasks.booking import book_month_meetings
    from auditcycle.tasks.moderation import moderate_month
    from auditcycle.tasks.notices import queue_month_notices
    from auditcycle.tasks.observations import assign_month_observations
    from auditcycle.tasks.sampling import draw_sample

    # No child's supervision is on record, so each December audit has a gap for its auditor to decide.
    s.execute(update(Child).values(last_supervision_date=None))
    s.commit()
    draw_sample.fn(month="2026-12", now="2026-11-23T09:00", size=6, seed=3)
    queue_month_notices.fn(month="2026-12", now="2026-11-24T12:00")
    book_month_meetings.fn(month="2026-12", now="2026-11-25T09:00")
    assign_month_observations.fn(month="2026-12", now="2026-12-01T08:00")
    december = list(s.scalars(select(Audit).order_by(Audit.id)))
    ctx = build_context("2026-12-14T10:00")
    for audit, overall in zip(december[:-1], ["inadequate", "good", "inadequate", "good", "inadequate"]):
        submit(s, ctx, reference=audit.reference, by=audit.auditor_id,
               data=valid_form(audit.child.key_worker_id, today=date(2026, 12, 14), overall=overall, grade=overall))
    raise_ir(s, build_context("2026-12-14T11:00"), reference=december[0].reference, by=december[0].auditor_id,
             reason="A safeguarding concern")
    first = s.scalars(select(Action).order_by(Action.id)).first()
    mark_done(s, build_context("2026-12-15T10:00"), reference=first.reference, by=first.owner_id, note="Done")
    s.commit()
    draw_sample.fn(month="2027-01", now="2026-12-21T09:00", size=3, seed=4)
    queue_month_notices.fn(month="2027-01", now="2026-12-22T12:00")
    book_month_meetings.fn(month="2027-01", now="2026-12-23T09:00")
    moderate_month.fn(month="2026-12", now="2027-01-04T09:00")
    s.expire_all()
    psw = s.scalars(select(Staff).where(Staff.role == Role.PRINCIPAL_SOCIAL_WORKER)).first()
    good = [a for a in december[:-1] if a.status == AuditStatus.IN_MODERATION
            and s.scalar(select(Moderation.original_overall).where(Moderation.audit_id == a.id)) == "good"]
    director = s.scalars(select(Staff).where(Staff.role == Role.ASSISTANT_DIRECTOR)).first()
    record_moderation(s, build_context("2027-01-04T12:00"), reference=good[0].reference, by=psw.id, grade="good",
                      domains={}, note="Agreed")
    agree_moderation(s, build_context("2027-01-04T12:30"), reference=good[0].reference, by=director.id)
    # The second good audit is left waiting for an assistant director's agreement.
    record_moderation(s, build_context("2027-01-04T12:00"), reference=good[1].reference, by=psw.id, grade="good",
                      domains={}, note="Agreed")
    draft_summaries(s, build_context("2027-01-04T13:00"), cycle=good[0].cycle)
    s.commit()
    draw_sample.fn(month="2027-02", now="2027-01-05T09:00", size=2, seed=5)


def _subjects(s: Session) -> Subjects:
    from auditcycle.core.settings import get_settings

    december = list(s.scalars(select(Audit).join(AuditCycle).where(AuditCycle.month == "2026-12")
                              .order_by(Audit.id)))
    moderated = next(a for a in december if a.status == AuditStatus.IN_MODERATION and s.scalar(
        select(Moderation.moderator_id).where(Moderation.audit_id == a.id)) is not None)
    return Subjects(
        unsubmitted=december[-1],
        moderated=moderated,
        awaiting=next(a for a in december if a.status == AuditStatus.IN_MODERATION and s.scalar(
            select(Moderation.decided_at).where(Moderation.audit_id == a.id)) is not None),
        response=s.scalars(select(ImmediateResponse).where(ImmediateResponse.raised_by_id.is_not(None))).one(),
        allocated=s.scalars(select(Audit).join(AuditCycle).where(AuditCycle.month == "2027-02")
                            .order_by(Audit.id)).first(),
        meeting=s.scalars(select(Meeting).join(Audit).join(AuditCycle).where(
            AuditCycle.month == "2027-01", Meeting.status == MeetingStatus.BOOKED,
            Meeting.starts_at > datetime.fromisoformat(CELL_NOW).replace(tzinfo=UTC))  # not yet started: cant-make
            .order_by(Meeting.starts_at)).first(),
        open_action=s.scalars(select(Action).where(Action.status == ActionStatus.OPEN).order_by(Action.id)).first(),
        done_action=s.scalars(select(Action).where(Action.status == ActionStatus.DONE)).one(),
        observation=s.scalars(select(Observation).where(Observation.status == ObservationStatus.ASSIGNED)
                              .order_by(Observation.id)).first(),
        mad=s.scalars(select(MakeADifference).where(MakeADifference.status == "draft")).first(),
        panel_service=get_settings().framework.moderation_panel_service,
        nominee=s.scalars(select(Child).join(Team, Child.team_id == Team.id).where(
            Child.key_worker_id.is_not(None), Child.id.not_in(select(Audit.child_id)),
            Team.service_id.in_(select(Staff.service_id).where(Staff.role == Role.SERVICE_MANAGER, Staff.active))
        ).order_by(Child.id)).first(),
        flag=_flag(s, moderated),
    )


def _flag(s: Session, audit: Audit) -> TrendFlag:
    """Raise a trend flag on the audit's key worker, in its child's service, as trend scrutiny would."""
    flag = TrendFlag(kind="practitioner_inadequate", subject_ref=audit.child.key_worker_id, month="2026-12",
                     detail="2 consecutive audits graded Inadequate", raised_at=datetime(2027, 1, 4, 9, tzinfo=UTC),
                     service_id=audit.child.team.service_id)
    s.add(flag)
    s.commit()
    return flag


def _audit_of(command: str, sub: Subjects) -> Audit:
    return {"submit": sub.unsubmitted, "replace": sub.allocated, "withdraw": sub.allocated,
            "reschedule": sub.meeting.audit, "cant-make": sub.meeting.audit, "respond": sub.response.audit,
            "agree-moderation": sub.awaiting}.get(command, sub.moderated)


def _action_of(command: str, sub: Subjects) -> Action:
    return sub.done_action if command == "action-sign-off" else sub.open_action


def _child_of(command: str, sub: Subjects) -> Child:
    """Return the child a command is about: the nominee, or the child of the command's audit."""
    return sub.nominee if command == "nominate" else _audit_of(command, sub).child


def _service_name(s: Session, staff: Staff) -> str | None:
    return s.scalar(select(Service.name).where(Service.id == staff.service_id)) if staff.service_id else None


def _related(s: Session, relation: str, command: str, sub: Subjects) -> Staff:
    """Return the person who stands in `relation` to the command's subject."""
    audit, action = _audit_of(command, sub), _action_of(command, sub)
    child = _child_of(command, sub)
    moderation = s.scalar(select(Moderation).where(Moderation.audit_id == sub.moderated.id))
    by_id = lambda staff_id: s.get(Staff, staff_id)  # noqa: E731
    if relation == "auditor of the audit":
        return audit.auditor
    if relation == "child's key worker":
        return child.key_worker
    if relation == "key worker's team manager":
        return by_id(child.key_worker.manager_id)
    if relation == "service manager of the child's team":
        return s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER, Staff.active,
                                             Staff.service_id == child.team.service_id).order_by(Staff.id)).first()
    if relation == "moderation panel member":
        return s.scalars(select(Staff).join(Service, Staff.service_id == Service.id).where(
            Staff.role == Role.SERVICE_MANAGER, Staff.active, Service.name == sub.panel_service)
            .order_by(Staff.id)).first()
    if relation == "PIM assigned to the audit":
        return by_id(moderation.moderator_id)
    if relation == "action owner":
        return action.owner
    if relation == "owner's line manager":
        return by_id(action.owner.manager_id)
    if relation == "assigned observer":
        return by_id(sub.observation.observer_id)
    raise AssertionError(relation)


def _newcomers(s: Session) -> dict[Role, Staff]:
    """Add one member of staff per role, in no team or service and managing no one: the role and nothing else."""
    people = {role: Staff(id=f"NEW-{role.value}", name=f"Newcomer {role.value}",
                          email=f"new.{role.value}@council.example", role=role) for role in Role}
    s.add_all(people.values())
    s.commit()
    return people


def expected(s: Session, command: str, actor: Staff, sub: Subjects) -> bool:
    """Say whether the README's table lets this person make this decision about the command's subject."""
    audit, action = _audit_of(command, sub), _action_of(command, sub)
    child = _child_of(command, sub)
    role, qa = actor.role, actor.role in QA_TEAM
    console = qa or role in {Role.ASSISTANT_DIRECTOR, Role.SERVICE_MANAGER, Role.TEAM_MANAGER, Role.KEY_WORKER}
    moderation = s.scalar(select(Moderation).where(Moderation.audit_id == audit.id))
    panel = role == Role.PRINCIPAL_SOCIAL_WORKER or (
        role == Role.SERVICE_MANAGER and _service_name(s, actor) == sub.panel_service)
    child_sm = role == Role.SERVICE_MANAGER and actor.service_id == child.team.service_id
    line_manager = action.owner.manager_id == actor.id
    key_worker_or_managers = actor.id == child.key_worker_id or child_sm or (role == Role.TEAM_MANAGER and (
        actor.team_id == child.team_id or child.key_worker.manager_id == actor.id))
    return {
        "submit": actor.id == audit.auditor_id or qa,
        "buddy-review": actor.id == audit.buddy_id,
        "raise-ir": actor.id == audit.auditor_id or qa or panel or (moderation is not None and actor.id in {
            moderation.moderator_id, moderation.assistant_director_id}),
        "respond": child_sm or role == Role.ASSISTANT_DIRECTOR,
        "supervision-gap": actor.id == audit.auditor_id or qa,
        "dispute": key_worker_or_managers,
        "family-contact": key_worker_or_managers,
        "moderate": panel or role == Role.ASSISTANT_DIRECTOR or (
            role == Role.PRACTICE_IMPROVEMENT_MANAGER and moderation is not None
            and moderation.moderator_id == actor.id),
        "agree-moderation": role == Role.ASSISTANT_DIRECTOR,
        "approve-list": role == Role.QA_MANAGER,
        "plan-themes": qa, "replace": qa, "withdraw": qa, "reschedule": qa, "run": qa, "deep-dive": qa, "mad-approve": qa,
        "report-summary": qa, "report-notes": qa, "issue-report": qa, "console": qa, "access-log": qa,
        "console-sign-in": console, "tracker": console,
        "nominate": child_sm,
        "ask-good-practice": qa,
        "trend-follow-up": role in {Role.ASSISTANT_DIRECTOR, Role.PRINCIPAL_SOCIAL_WORKER} or (
            role == Role.SERVICE_MANAGER and actor.service_id == sub.flag.service_id),
        "cant-make": actor.id in {sub.meeting.organiser_id, sub.meeting.attendee_id},
        "action-done": actor.id == action.owner_id or line_manager,
        "action-sign-off": line_manager or qa,
        "supervision-discussed": role == Role.TEAM_MANAGER and (
            actor.team_id == child.team_id or child.key_worker.manager_id == actor.id),
        "observe-done": actor.id == sub.observation.observer_id or qa,
        "observe-recommend": actor.id == audit.auditor_id or line_manager or qa,
        "nominate-mad": role in {Role.TEAM_MANAGER, Role.SERVICE_MANAGER, Role.ASSISTANT_DIRECTOR},
        "questionnaire": actor.id == audit.auditor_id,
    }[command]


def attempts(s: Session, sub: Subjects) -> dict[str, Callable[[str], object]]:
    """Return, for each command, the call the CLI makes, as a function of the person making it."""
    from auditcycle.actions.ladder import mark_done, sign_off
    from auditcycle.booking.family_advice import ContactAdviceInput, family_contacts, record_advice
    from auditcycle.booking.meetings import reschedule
    from auditcycle.core.clock import Month
    from auditcycle.core.context import build_context
    from auditcycle.immediate_responses.lifecycle import raise_ir, respond
    from auditcycle.immediate_responses.supervision_gaps import decide_gap
    from auditcycle.invitations.cant_make import cant_make
    from auditcycle.learning.culture import approve, nominate_interview
    from auditcycle.learning.questionnaire import answer_questionnaire
    from auditcycle.models.enums import CycleKind
    from auditcycle.moderation.panel import agree_moderation, record_moderation
    from auditcycle.notices.review import approve_list
    from auditcycle.observations.assignment import record_observation
    from auditcycle.observations.recommendations import recommend
    from auditcycle.people.permissions import Subject, authorise
    from auditcycle.report.issue import issue_edition
    from auditcycle.report.notes import store_notes, store_summary
    from auditcycle.sampling.cycle import replace, withdraw
    from auditcycle.sampling.nominations import ask_for_good_practice, nominate
    from auditcycle.sampling.requests import Asked, store_request
    from auditcycle.sampling.themes import store_plan
    from auditcycle.submissions.submit import dispute, submit
    from auditcycle.submissions.supervision import record_supervision_discussed
    from auditcycle.trends.follow_up import flag_reference, record_follow_up

    ctx = build_context(CELL_NOW)
    # The key worker was asked, with the notice, how to reach the family (booking/family_advice.py).
    if s.get(FamilyAdvice, sub.moderated.id) is None:
        s.add(FamilyAdvice(audit_id=sub.moderated.id, asked_at=ctx.now))
        s.flush()
    advice = [ContactAdviceInput(contact_id=c.id) for c in family_contacts(ctx, sub.moderated)]
    plan = Path(tempfile.mkdtemp()) / "themes.toml"
    plan.write_text('[2027-06]\ntheme = "Working with fathers"\n', "utf-8")
    unsubmitted = sub.unsubmitted
    failed = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    failed.status = MessageStatus.FAILED
    s.flush()

    def deep_dive(by: str) -> object:
        # What `auditcycle deep-dive` does before anything reaches the Prefect engine: store the request.
        return store_request(s, ctx, by=by, asked=Asked(kind=CycleKind.DEEP_DIVE, theme="Neglect", size=1,
                                                         due=date(2027, 1, 15)))

    return {
        "submit": lambda by: submit(s, ctx, reference=unsubmitted.reference, by=by, data=valid_form(
            unsubmitted.child.key_worker_id, today=date(2027, 1, 5))),
        "raise-ir": lambda by: raise_ir(s, ctx, reference=sub.moderated.reference, by=by, reason="A concern"),
        # The review itself waits for a submitted form; here the table is asked what the page's POST asks first.
        "buddy-review": lambda by: authorise(s, command="buddy-review", staff_id=by,
                                             subject=Subject(audit=sub.moderated)),
        "respond": lambda by: respond(s, ctx, reference=sub.response.reference, by=by, note="Visited today"),
        "supervision-gap": lambda by: decide_gap(s, ctx, reference=sub.moderated.reference, decision="dismiss",
                                                 by=by, reason="Supervision recorded on the team's own log"),
        "dispute": lambda by: dispute(s, ctx, reference=sub.moderated.reference, by=by, note="Grade too low"),
        "family-contact": lambda by: record_advice(s, ctx, reference=sub.moderated.reference, by=by, contacts=advice),
        "moderate": lambda by: record_moderation(s, ctx, reference=sub.moderated.reference, by=by, grade="good",
                                                 domains={}, note="Agreed"),
        "agree-moderation": lambda by: agree_moderation(s, ctx, reference=sub.awaiting.reference, by=by),
        # February's list, drawn at 09:00 on 5 January, is under review until noon the next working day.
        "approve-list": lambda by: approve_list(s, ctx, cycle=sub.allocated.cycle, by=by),
        "replace": lambda by: replace(s, ctx, reference=sub.allocated.reference, by=by, reason="Family moved"),
        "withdraw": lambda by: withdraw(s, ctx, reference=sub.allocated.reference, by=by, reason="Case closed"),
        "reschedule": lambda by: reschedule(s, ctx, reference=sub.meeting.reference, by=by),
        "cant-make": lambda by: cant_make(s, ctx, reference=sub.meeting.reference, by=by, reason="Court"),
        # `auditcycle run PHASE --by` authorises, then hands the phase to the Prefect engine (cli/runs.py).
        "run": lambda by: authorise(s, command="run", staff_id=by),
        "deep-dive": deep_dive,
        "nominate": lambda by: nominate(s, ctx, child_id=sub.nominee.id, by=by, month=Month(2027, 3),
                                        reason="A plan the child helped to write"),
        "ask-good-practice": lambda by: ask_for_good_practice(s, ctx, month=Month(2027, 3), by=by),
        "trend-follow-up": lambda by: record_follow_up(s, ctx, reference=flag_reference(sub.flag), by=by,
                                                       contributed="Drift in planning", outcome="discussion"),
        "action-done": lambda by: mark_done(s, ctx, reference=sub.open_action.reference, by=by, note="Done"),
        "action-sign-off": lambda by: sign_off(s, ctx, reference=sub.done_action.reference, by=by, quality="met",
                                               note="Clear and current", new_due=None),
        "plan-themes": lambda by: store_plan(s, path=plan, by=by, now=ctx.now),
        "supervision-discussed": lambda by: record_supervision_discussed(s, ctx, reference=sub.moderated.reference,
                                                                         by=by),
        "observe-done": lambda by: record_observation(s, ctx, reference=sub.observation.reference, by=by,
                                                      kind="home_visit", note="Child-led visit"),
        "observe-recommend": lambda by: recommend(s, ctx, practitioner_id=sub.open_action.owner_id, by=by,
                                                  audit_ref=sub.moderated.reference),
        "mad-approve": lambda by: approve(s, ctx, reference=sub.mad.reference, by=by),
        "report-summary": lambda by: store_summary(s, month=Month(sub.allocated.cycle.month), text="A summary",
                                                   by=by),
        # Retrying a failed message is one of the QA team's console acts.
        "console": lambda by: retry_message(s, ctx, message_id=failed.id, by=by),
        "console-sign-in": lambda by: start_session(s, ctx, staff_id=by, method="link"),
        "tracker": lambda by: tracker_view(s, ctx, staff_id=by, tab=Tab.AUDITS, args={}),
        "access-log": lambda by: search_access_log(s, ctx, by=by, args={}),
        "report-notes": lambda by: store_notes(s, month=Month(sub.allocated.cycle.month), text="## Findings", by=by),
        # The console's Issue button: the month's report written and its first edition mailed.
        "issue-report": lambda by: issue_edition(s, ctx, month=Month(sub.allocated.cycle.month), by=by, seen=0),
        "nominate-mad": lambda by: nominate_interview(s, ctx, practitioner_id=sub.open_action.owner_id, by=by,
                                                      note="Turned a plan around"),
        "questionnaire": lambda by: answer_questionnaire(s, ctx, reference=sub.moderated.reference, by=by, answers={
            "guidance_clear": "Clear", "enough_time": "Yes", "support_useful": "Useful",
            "learning_conversation": "Well"}),
    }


def _row_counts(s: Session) -> dict[str, int]:
    return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_every_role_against_every_command(authority: Engine, app_env: str, request: pytest.FixtureRequest) -> None:
    """Each cell of roles × commands is allowed or refused exactly as the table says; a refusal writes nothing."""
    from auditcycle.storage.db import get_engine

    engine = get_engine()
    s = sessionmaker(bind=engine, expire_on_commit=False)()
    _month_to_moderation(s)
    s.expire_all()
    sub = _subjects(s)
    tries = attempts(s, sub)
    assert set(tries) == set(PERMISSIONS)
    newcomers = _newcomers(s)
    rows = [(role.value, lambda command, role=role: newcomers[role]) for role in Role]
    rows += [(relation, lambda command, relation=relation: _related(s, relation, command, sub))
             for relation in RELATIONS]
    writes: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: writes.append(statement)
                 if statement.lstrip().upper().startswith(WRITES) else None)
    s.commit()
    before = _row_counts(s)

    results: dict[tuple[str, str], str] = {}
    wrong: list[str] = []
    for row, who in rows:
        for command, attempt in tries.items():
            actor = who(command)
            want = expected(s, command, actor, sub)
            writes.clear()
            savepoint = s.begin_nested()
            try:
                attempt(actor.id)
                s.flush()
                got = "allowed"
            except PermissionDenied as refusal:
                got = "refused"
                pending = list(s.new) + list(s.dirty) + list(s.deleted)
                if writes or pending or f"may not {command}" not in str(refusal):
                    wrong.append(f"{row} / {command}: refused but wrote {writes or pending}: {refusal}")
            except Exception as exc:  # an allowed decision that failed for another reason is a wrong cell too
                got = f"failed: {exc!r}"
            savepoint.rollback()
            results[(row, command)] = got
            if got != ("allowed" if want else "refused"):
                wrong.append(f"{row} ({actor.id}, {actor.role.value}) / {command}: expected "
                             f"{'allowed' if want else 'refused'}, got {got}")
    s.rollback()
    after = _row_counts(s)
    s.close()

    allowed = sum(v == "allowed" for v in results.values())
    refused = sum(v == "refused" for v in results.values())
    coverage = (f"access matrix: {len(rows)} roles × {len(tries)} commands = {len(rows) * len(tries)} cells, "
                f"{len(results)} exercised: {allowed} allowed, {refused} refused")
    report(request, f"\n{coverage} ({engine.dialect.name})")
    report(request, "access matrix allowed cells: " + json.dumps(
        {command: [row for row, _ in rows if results[(row, command)] == "allowed"] for command in tries}))
    assert wrong == []
    assert after == before
    assert len(results) == len(rows) * len(tries) == allowed + refused
    assert {row for row, _ in rows} == {r.value for r in Role} | set(RELATIONS)
