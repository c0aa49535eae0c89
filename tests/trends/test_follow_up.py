"""A trend flag's follow-up: recorded once, by whichever of those told records it first; the QA managers hear."""
import pytest
from factories import context_at as ctx_at
from mail_links import labelled_link, link_row
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from trend_flags import raise_review_unit_flag

from auditcycle.core.errors import PermissionDenied
from auditcycle.links.tokens import LinkProblem, LinkProblemKind
from auditcycle.models import Audit, Event, OutboxMessage, Staff, TrendFlag
from auditcycle.models.enums import Role
from auditcycle.notifications.gateway import deliver
from auditcycle.trends.follow_up import (
    CONTRIBUTED,
    NOTE,
    OUTCOME,
    FollowUpRefused,
    flag_reference,
    record_follow_up,
)

FOLLOWED_UP = "2027-01-20T10:00"


def _told(s: Session, flag: TrendFlag) -> list[Staff]:
    ids = s.scalars(select(OutboxMessage.recipient_id).where(OutboxMessage.subject_ref == f"trend-{flag.id}",
                                                             OutboxMessage.step == flag.kind))
    return sorted((s.get(Staff, i) for i in ids), key=lambda p: p.role != Role.SERVICE_MANAGER)


def test_a_flag_keeps_its_service_and_mails_each_recipient_their_own_link(s, authority, settings,
                                                                           smtp_server) -> None:
    flag = raise_review_unit_flag(s, authority, settings)
    manager, psw = _told(s, flag)
    audit = s.scalar(select(Audit).where(Audit.reference == flag.subject_ref))

    mail = {r.rcpt_tos[0]: r.message for r in smtp_server.received if "Audit trend" in r.message["Subject"]}
    urls = {email: labelled_link(message, "Record the follow-up") for email, message in mail.items()}
    ctx = ctx_at(FOLLOWED_UP, settings)

    assert flag.service_id == audit.service_id == manager.service_id and psw.role == Role.PRINCIPAL_SOCIAL_WORKER
    assert sorted(urls) == sorted([manager.email, psw.email]) and len(set(urls.values())) == 2
    assert {link_row(s, ctx, url).staff_id for url in urls.values()} == {manager.id, psw.id}
    assert {link_row(s, ctx, url).subject_ref for url in urls.values()} == {flag_reference(flag)}


def test_the_follow_up_is_recorded_once_the_qa_managers_told_and_the_other_link_done(s, authority, settings,
                                                                                    smtp_server) -> None:
    flag = raise_review_unit_flag(s, authority, settings)
    manager, psw = _told(s, flag)
    ref = flag_reference(flag)
    mail = {r.rcpt_tos[0]: r.message for r in smtp_server.received if "Audit trend" in r.message["Subject"]}
    psw_url = labelled_link(mail[psw.email], "Record the follow-up")
    smtp_server.received.clear()
    ctx = ctx_at(FOLLOWED_UP, settings)

    record_follow_up(s, ctx, reference=ref, by=manager.id, contributed="Permanence planning drifted.",
                     outcome="further_audit", note="Re-audit in March.")
    s.commit()
    deliver(engine=authority, settings=settings)
    deliver(engine=authority, settings=settings)

    row = s.get(TrendFlag, flag.id, populate_existing=True)
    assert (row.followed_up_at, row.followed_up_by_id, row.follow_up_contributed, row.follow_up_outcome,
            row.follow_up_note) == (ctx.now, manager.id, "Permanence planning drifted.", "further_audit",
                                    "Re-audit in March.")
    assert s.scalars(select(Event.actor_id).where(Event.subject_ref == ref, Event.kind == "trend-followed-up")).all() \
        == [manager.id]
    qa = list(s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active)))
    assert sorted(r.rcpt_tos for r in smtp_server.received) == sorted([q.email] for q in qa)
    assert "A further audit" in smtp_server.received[0].message["Subject"]
    with pytest.raises(LinkProblem) as used:
        link_row(s, ctx, psw_url)
    assert used.value.kind == LinkProblemKind.USED
    assert f"already done by {manager.name} at 10:00 on Wednesday 20 January 2027" in str(used.value)

    with pytest.raises(FollowUpRefused, match=f"{ref} was already followed up by {manager.name}"):
        record_follow_up(s, ctx_at("2027-01-21T10:00", settings), reference=ref, by=psw.id, contributed="Other",
                         outcome="discussion")


@pytest.mark.parametrize(("contributed", "outcome", "note", "field", "says"), [
    ("  ", "discussion", None, CONTRIBUTED, "Enter what contributed to the grade"),
    ("x" * 4001, "discussion", None, CONTRIBUTED, "What contributed to the grade is 4,001 characters"),
    ("Drift", "a chat", None, OUTCOME, "Select what follows"),
    ("Drift", "no_further_action", " ", NOTE, "Say in the note why no further action is needed"),
    ("Drift", "discussion", "y" * 2001, NOTE, "A note is 2,001 characters"),
])
def test_a_refused_follow_up_names_the_field_and_stores_nothing(s, authority, settings, contributed, outcome, note,
                                                                field, says) -> None:
    flag = raise_review_unit_flag(s, authority, settings)
    manager, _ = _told(s, flag)
    events = s.scalar(select(func.count()).select_from(Event))

    with pytest.raises(FollowUpRefused) as refused:
        record_follow_up(s, ctx_at(FOLLOWED_UP, settings), reference=flag_reference(flag), by=manager.id,
                         contributed=contributed, outcome=outcome, note=note)

    assert refused.value.field_name == field and says in str(refused.value)
    assert s.get(TrendFlag, flag.id, populate_existing=True).followed_up_at is None
    assert s.scalar(select(func.count()).select_from(Event)) == events


def test_someone_the_flag_is_not_for_may_not_follow_it_up(s, authority, settings) -> None:
    flag = raise_review_unit_flag(s, authority, settings)
    other = s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER,
                                          Staff.service_id != flag.service_id)).first()

    with pytest.raises(PermissionDenied, match="may not trend-follow-up: only the service manager of the flagged"):
        record_follow_up(s, ctx_at(FOLLOWED_UP, settings), reference=flag_reference(flag), by=other.id,
                         contributed="Drift", outcome="discussion")
