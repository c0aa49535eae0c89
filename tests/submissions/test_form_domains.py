"""The form's per-domain parts (the framework's questions, evidence, "not applicable", conversations), drafts, the buddy's review."""
import re
from datetime import date
from pathlib import Path

import pytest
from forms import valid_form
from sqlalchemy import func, select

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.core.settings import DEFAULT_DOMAINS, FrameworkSettings
from auditcycle.models import Audit, BuddyReview, DomainGrade, Event, OutboxMessage, Staff, Submission
from auditcycle.models.enums import AuditStatus
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.buddy import review_as_buddy
from auditcycle.submissions.drafts import form_to_show, save_draft
from auditcycle.submissions.forms import FormError
from auditcycle.submissions.submit import may_not_apply, submit

FRAMEWORK = Path("/work/shared/reference/qa-impact-framework.md")
NOW = "2026-12-14T10:00"
TODAY = date(2026, 12, 14)
SRU = "safeguarding_review_unit"


def _framework_questions() -> list[list[str]]:
    """The bullets under each of the source document's KEY AUDIT AREAS, in order."""
    text = FRAMEWORK.read_text(encoding="utf-8").split("KEY AUDIT AREAS", 1)[1].split("KEY CONVERSATIONS", 1)[0]
    sections = re.split(r"\n\d\. [^\n]+\n", text)[1:]
    return [[line[2:].strip() for line in part.strip().splitlines() if line.startswith("- ")] for part in sections]


def test_the_default_questions_are_the_frameworks_own_words_for_each_domain_in_order() -> None:
    questions = FrameworkSettings().questions
    assert list(questions) == list(DEFAULT_DOMAINS)
    assert list(questions.values()) == _framework_questions()


def test_questions_and_not_applicable_domains_must_name_domains() -> None:
    with pytest.raises(ValueError, match="not domains"):
        FrameworkSettings(not_applicable_domains=["no_such_domain"])


@pytest.fixture
def audit(s, settings, authority, smtp_server):
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=Month(2026, 12), size=3, seed=2)
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings),
                  cycle=s.scalars(select(Audit)).first().cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    return s.scalars(select(Audit).order_by(Audit.id)).first()


def _without_iro(s, audit) -> None:
    audit.child.iro_id = audit.child.cp_chair_id = None
    s.commit()


def _form(audit, **extra) -> dict:
    return valid_form(audit.child.key_worker_id, today=TODAY, **extra)


def _submit(s, settings, audit, form):
    result = submit(s, build_context(NOW, settings=settings), reference=audit.reference, data=form,
                    by=audit.auditor_id)
    s.commit()
    return result


def test_a_domain_may_be_not_applicable_only_for_a_child_with_no_iro_or_cp_chair(s, settings, audit) -> None:
    ctx = build_context(NOW, settings=settings)
    audit.child.iro_id, audit.child.cp_chair_id = audit.child.key_worker_id, None
    assert may_not_apply(ctx, audit) == []
    form = _form(audit, not_applicable={SRU: "No IRO or CP chair."})
    del form["grades"][SRU]
    with pytest.raises(FormError, match=f"not_applicable.{SRU}: the framework considers this domain in every audit"):
        _submit(s, settings, audit, form)
    s.rollback()

    _without_iro(s, audit)
    assert may_not_apply(ctx, audit) == [SRU]
    submission = _submit(s, settings, audit, form)
    assert submission.form["not_applicable"] == {SRU: "No IRO or CP chair."}
    assert SRU not in {g.domain for g in s.scalars(select(DomainGrade).where(DomainGrade.submission_id == submission.id))}


@pytest.mark.parametrize(("change", "problem"), [
    (lambda f: f.update(not_applicable={"assessment": "Not relevant."}),
     "not_applicable.assessment: the framework considers this domain in every audit; only "
     "safeguarding_review_unit may be not applicable here"),
    (lambda f: f.update(not_applicable={SRU: "Both?"}), f"not_applicable.{SRU}: give a grade or say why"),
    (lambda f: (f["grades"].pop(SRU), f.update(not_applicable={SRU: ""})), f"not_applicable.{SRU}: say why this domain does not apply"),
    (lambda f: f.update(evidence={"nowhere": "x"}), "evidence.nowhere: not an audit domain"),
    (lambda f: f.update(conversations=[{"kind": "learning_conversation", "held_on": "2026-12-15", "minutes": 60}]),
     "conversations.0.held_on: 2026-12-15 is after the submission date"),
    (lambda f: f.update(conversations=[{"kind": "learning_conversation", "held_on": "2026-12-01", "minutes": 900}]),
     "conversations.0.minutes: Input should be less than or equal to 480"),
    (lambda f: f.update(conversations=[{"kind": "tea", "held_on": "2026-12-01", "minutes": 60}]),
     "conversations.0.kind:"),
])
def test_the_per_domain_parts_are_checked_and_nothing_is_stored(s, settings, audit, change, problem) -> None:
    _without_iro(s, audit)
    form = _form(audit)
    change(form)
    with pytest.raises(FormError) as refused:
        _submit(s, settings, audit, form)
    s.rollback()
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems
    assert s.scalar(select(func.count()).select_from(Submission)) == 0


def test_evidence_and_conversations_are_kept_with_the_submission(s, settings, audit) -> None:
    held = [{"kind": "learning_conversation", "held_on": "2026-12-08", "minutes": 60},
            {"kind": "team_manager", "held_on": "2026-12-10", "minutes": 30}]
    submission = _submit(s, settings, audit, _form(audit, evidence={"assessment": "Up to date."}, conversations=held))
    assert submission.form["evidence"] == {"assessment": "Up to date."}
    assert submission.form["conversations"] == held


def test_a_draft_is_kept_unchecked_shown_again_and_cleared_by_the_submission(s, settings, audit) -> None:
    ctx = build_context(NOW, settings=settings)
    save_draft(s, ctx, reference=audit.reference, data={"grades": {"assessment": "not-a-grade"}}, by=audit.auditor_id)
    s.commit()
    assert form_to_show(s, audit.reference) == {"grades": {"assessment": "not-a-grade"}}
    assert s.scalar(select(Event.kind).where(Event.subject_ref == audit.reference).order_by(Event.id.desc())) == \
        "draft-saved"
    assert s.scalar(select(func.count()).select_from(Submission)) == 0

    _submit(s, settings, audit, _form(audit, strengths="Final."))
    assert s.get(Audit, audit.id).form_draft is None
    assert form_to_show(s, audit.reference)["strengths"] == "Final."


def test_a_draft_is_saved_only_by_whoever_may_submit_and_only_until_moderation(s, settings, audit) -> None:
    ctx = build_context(NOW, settings=settings)
    other = s.scalars(select(Staff).where(Staff.id != audit.auditor_id, Staff.auditor.is_(False))).first()
    with pytest.raises(PermissionDenied):
        save_draft(s, ctx, reference=audit.reference, data={}, by=other.id)
    audit.status = AuditStatus.IN_MODERATION
    s.commit()
    with pytest.raises(UserError, match="only until moderation"):
        save_draft(s, ctx, reference=audit.reference, data={}, by=audit.auditor_id)


def _with_buddy(s, audit) -> Staff:
    buddy = s.scalars(select(Staff).where(Staff.auditor, Staff.active, Staff.id != audit.auditor_id)
                      .order_by(Staff.id)).first()
    audit.buddy_id = buddy.id
    s.commit()
    return buddy


def test_the_buddy_agrees_or_comments_once_per_version_and_the_auditor_is_told(s, settings, audit) -> None:
    buddy = _with_buddy(s, audit)
    _submit(s, settings, audit, _form(audit))
    ctx = build_context("2026-12-15T10:00", settings=settings)
    with pytest.raises(UserError, match="comment: say what the auditor should look at again"):
        review_as_buddy(s, ctx, reference=audit.reference, by=buddy.id, agreed=False, comment="  ")
    s.rollback()

    review = review_as_buddy(s, ctx, reference=audit.reference, by=buddy.id, agreed=False,
                             comment="Weigh the school move.")
    s.commit()
    assert (review.version, review.agreed, review.comment, review.reviewer_id) == (
        1, False, "Weigh the school move.", buddy.id)
    [told] = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient_email == audit.auditor.email,
                                                   OutboxMessage.subject.like("Your buddy commented%")))
    assert "Weigh the school move." in told.body_text
    with pytest.raises(UserError, match="version 1 of the form is already reviewed"):
        review_as_buddy(s, ctx, reference=audit.reference, by=buddy.id, agreed=True)
    s.rollback()

    _submit(s, settings, audit, _form(audit, overall="good"))
    assert review_as_buddy(s, ctx, reference=audit.reference, by=buddy.id, agreed=True).version == 2


def test_only_the_buddy_reviews_and_only_a_submitted_form(s, settings, audit) -> None:
    buddy = _with_buddy(s, audit)
    ctx = build_context("2026-12-15T10:00", settings=settings)
    with pytest.raises(UserError, match="a buddy reviews the form once it is submitted"):
        review_as_buddy(s, ctx, reference=audit.reference, by=buddy.id, agreed=True)
    s.rollback()
    _submit(s, settings, audit, _form(audit))
    with pytest.raises(PermissionDenied, match="may not buddy-review"):
        review_as_buddy(s, ctx, reference=audit.reference, by=audit.auditor_id, agreed=True)
    s.rollback()
    assert s.scalar(select(func.count()).select_from(BuddyReview)) == 0
