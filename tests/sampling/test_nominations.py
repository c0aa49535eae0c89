"""Good-practice nominations: the QA team's ask to each service manager, once, and the nomination's rules."""
import pytest
from factories import context_at
from mail_links import body_text, labelled_link
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.core.settings import Settings
from auditcycle.models import Audit, Child, Link, Nomination, OutboxMessage, Service, Staff, Team
from auditcycle.models.enums import AuditKind, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.sampling.nominations import (
    CASE_ID,
    REASON,
    NominationRefused,
    ask_for_good_practice,
    nominate,
    nomination_deadline,
)

JAN = Month(2027, 1)
ASKED = "2026-12-01T09:00"
REASON_TEXT = "A plan written with the child, reviewed at every visit."


def _manager_of(s: Session, child: Child) -> Staff:
    return s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER, Staff.active,
                                         Staff.service_id == child.team.service_id).order_by(Staff.id)).first()


def _children(s: Session, n: int = 2, *, service_id: int | None = None) -> list[Child]:
    """Allocated children of one service (the largest unless given), never audited."""
    if service_id is None:
        service_id = s.scalar(select(Team.service_id).join(Child, Child.team_id == Team.id)
                              .group_by(Team.service_id).order_by(func.count().desc()).limit(1))
    return list(s.scalars(select(Child).join(Team, Child.team_id == Team.id).where(
        Team.service_id == service_id, Child.key_worker_id.is_not(None)).order_by(Child.id).limit(n)))


def _qa(s: Session) -> Staff:
    return s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER)).first()


def test_the_deadline_is_the_end_of_the_last_working_day_before_the_draw() -> None:
    # January 2027's list is drawn on Monday 21 December 2026; February's on Monday 25 January 2027.
    ctx = context_at(ASKED)
    assert [nomination_deadline(ctx, m).astimezone(ctx.tz).isoformat() for m in (JAN, Month(2027, 2))] == [
        "2026-12-18T17:00:00+00:00", "2027-01-22T17:00:00+00:00"]


def test_the_ask_mails_each_service_manager_once_with_their_own_link(s: Session, authority, settings,
                                                                     smtp_server) -> None:
    ctx = context_at(ASKED, settings)
    managers = list(s.scalars(select(Staff).join(Service, Staff.service_id == Service.id).where(
        Staff.role == Role.SERVICE_MANAGER, Staff.active,
        Service.id.in_(select(Team.service_id).join(Child, Child.team_id == Team.id))).order_by(Staff.id)))

    first = ask_for_good_practice(s, ctx, month=JAN, by=_qa(s).id)
    s.commit()
    again = ask_for_good_practice(s, context_at("2026-12-02T09:00", settings), month=JAN, by=_qa(s).id)
    s.commit()
    deliver(engine=authority, settings=settings)

    assert (first.asked, first.already_asked, again.asked, again.already_asked) == (
        len(managers), 0, 0, len(managers))
    assert first.not_asked == ["Quality Assurance & Practice Improvement (no children on its caseload)",
                               "Safeguarding & Review Unit (no children on its caseload)"]
    assert sorted(r.rcpt_tos for r in smtp_server.received) == sorted([m.email] for m in managers)
    links = {labelled_link(r.message, "Nominate an example of good practice") for r in smtp_server.received}
    assert len(links) == len(managers)
    body = body_text(smtp_server.received[0].message)
    assert "17:00 on Friday 18 December 2026" in body and "Monday 21 December 2026" in body
    assert "auditcycle " not in body and "--by" not in body
    rows = list(s.scalars(select(Link).where(Link.purpose == "good-practice")))
    assert sorted(r.staff_id for r in rows) == [m.id for m in managers]
    assert {r.subject_ref for r in rows if r.staff_id == managers[0].id} == {f"GP-2027-01-S{managers[0].service_id}"}


def test_the_ask_is_refused_to_others_after_the_deadline_and_once_drawn(s: Session) -> None:
    key_worker = s.scalars(select(Staff).where(Staff.role == Role.KEY_WORKER)).first()

    with pytest.raises(PermissionDenied, match="may not ask-good-practice"):
        ask_for_good_practice(s, context_at(ASKED), month=JAN, by=key_worker.id)
    with pytest.raises(UserError, match="too late to ask"):
        ask_for_good_practice(s, context_at("2026-12-18T17:00"), month=JAN, by=_qa(s).id)
    draw(s, context_at("2026-11-23T09:00"), month=Month(2026, 12), seed=3)
    with pytest.raises(UserError, match="already been drawn"):
        ask_for_good_practice(s, context_at("2026-11-23T10:00"), month=Month(2026, 12), by=_qa(s).id)
    assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.phase == "good-practice")) == 0


def test_a_nomination_is_kept_with_its_reason_and_becomes_a_good_practice_audit(s: Session) -> None:
    [child] = _children(s, 1)
    manager = _manager_of(s, child)

    nomination = nominate(s, context_at(ASKED), child_id=f" {child.id} ", by=manager.id, month=JAN,
                          reason=f"  {REASON_TEXT}\n")
    draw(s, context_at("2026-12-21T07:00"), month=JAN, seed=8)
    s.commit()

    assert (nomination.child_id, nomination.nominated_by_id, nomination.reason) == (child.id, manager.id, REASON_TEXT)
    audit = s.scalar(select(Audit).where(Audit.child_id == child.id))
    assert audit.kind == AuditKind.GOOD_PRACTICE and nomination.audit_id == audit.id


@pytest.mark.parametrize(("case", "field", "says"), [
    ("unknown", CASE_ID, "C-NOPE: no child has that case id"),
    ("no reason", REASON, "Say why the record is an example of good practice"),
    ("long reason", REASON, "The reason is 2,001 characters; keep it to 2,000"),
    ("no key worker", CASE_ID, "has no key worker, so cannot be audited"),
    ("audited lately", CASE_ID, "was audited in the last 6 months"),
    ("already nominated", CASE_ID, "is already nominated for January 2027, by"),
    ("second of the service", None, "has already nominated a record for January 2027: each service nominates one"),
    ("drawn", None, "The January 2027 sample has already been drawn"),
])
def test_a_refused_nomination_names_the_field_and_stores_nothing(s: Session, case: str, field: str | None,
                                                                 says: str) -> None:
    first, second = _children(s, 2)
    ctx = context_at(ASKED)
    child_id, reason = first.id, REASON_TEXT
    if case == "unknown":
        child_id = "C-NOPE"
    elif case == "no reason":
        reason = "   "
    elif case == "long reason":
        reason = "x" * 2001
    elif case == "no key worker":
        first.key_worker_id = None
    elif case == "audited lately":
        draw(s, context_at("2026-11-23T09:00"), month=Month(2026, 12), size=3, seed=3)
        child_id = s.scalars(select(Audit.child_id).order_by(Audit.id)).first()
    manager = _manager_of(s, s.get(Child, child_id) or first)
    if case == "already nominated":
        other = s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER, Staff.id != manager.id)).first()
        other.service_id = manager.service_id
        nominate(s, ctx, child_id=first.id, by=other.id, month=JAN, reason=REASON_TEXT)
    elif case == "second of the service":
        nominate(s, ctx, child_id=second.id, by=manager.id, month=JAN, reason=REASON_TEXT)
    elif case == "drawn":
        draw(s, context_at("2026-12-21T07:00"), month=JAN, size=3, seed=3)
    s.flush()
    before = s.scalar(select(func.count()).select_from(Nomination))

    with pytest.raises(NominationRefused) as refused:
        nominate(s, ctx, child_id=child_id, by=manager.id, month=JAN, reason=reason)

    assert refused.value.field_name == field and says in str(refused.value)
    assert s.scalar(select(func.count()).select_from(Nomination)) == before


def test_a_child_of_another_service_is_refused_naming_who_may(s: Session) -> None:
    [child] = _children(s, 1)
    manager = s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER,
                                            Staff.service_id != child.team.service_id)).first()

    with pytest.raises(PermissionDenied, match=f"may not nominate {child.id}: only the service manager of the "
                                               "child's service may"):
        nominate(s, context_at(ASKED), child_id=child.id, by=manager.id, month=JAN, reason=REASON_TEXT)
    assert s.scalar(select(func.count()).select_from(Nomination)) == 0


def test_a_council_may_let_each_service_nominate_more(s: Session) -> None:
    first, second, third = _children(s, 3)
    manager = _manager_of(s, first)
    ctx = context_at(ASKED, Settings(database_url="sqlite://", framework={"good_practice_per_service": 2}))

    for child in (first, second):
        nominate(s, ctx, child_id=child.id, by=manager.id, month=JAN, reason=REASON_TEXT)
    with pytest.raises(NominationRefused, match="already nominated 2 records for January 2027: each service "
                                                "nominates at most 2 a month"):
        nominate(s, ctx, child_id=third.id, by=manager.id, month=JAN, reason=REASON_TEXT)

    assert s.scalar(select(func.count()).select_from(Nomination)) == 2
