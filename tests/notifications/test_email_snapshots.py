"""Snapshots of every email the application sends, text and HTML, from the real compose functions.

Each template in templates/emails/messages needs at least one sample below, named after it; a variant of the
same template is named `<template>--<variant>`. Each sample is stored as tests/notifications/snapshots/emails/<sample>.txt
(the subject, the message's other headers, then the text part) and <sample>.html (the HTML part).

After a deliberate change to a template, rewrite the snapshots and review the diff:
    AUDITCYCLE_UPDATE_SNAPSHOTS=1 .venv/bin/pytest -q tests/notifications/test_email_snapshots.py
"""
import difflib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time
from importlib import resources
from pathlib import Path

import pytest
from markupsafe import escape

from auditcycle.core.settings import get_settings
from auditcycle.core.text import Redacted
from auditcycle.notices import review
from auditcycle.notifications import (
    actions,
    chasing,
    console,
    handover,
    learning,
    links,
    moderation,
    nominations,
    notices,
    observations,
    outcomes,
)
from auditcycle.notifications import report as report_mail
from auditcycle.notifications.immediate_responses import ResponseFacts, compose_response
from auditcycle.notifications.invites import (
    Invite,
    MeetingFacts,
    compose_counter_declined,
    compose_invite,
    compose_optional_apology,
)
from auditcycle.notifications.message import Composed, Recipient
from auditcycle.notifications.render import render
from auditcycle.notifications.replies import compose_reply_for_qa

SNAPSHOTS = Path(__file__).parent / "snapshots" / "emails"
UPDATE = os.environ.get("AUDITCYCLE_UPDATE_SNAPSHOTS") == "1"
HTML_TAG = re.compile(r"</?(p|br|strong|code|a|h2|table|tr|td|th|blockquote)\b")
HOW_TO_UPDATE = "AUDITCYCLE_UPDATE_SNAPSHOTS=1 .venv/bin/pytest -q tests/notifications/test_email_snapshots.py"

# Fixed facts: case ids and initials only for children; staff names are invented.
MONTH = "2026-12"
DUE = date(2026, 12, 31)
AUDIT = "A-2026-12-007"
CHILD = "C000123"
INITIALS = "J. B."
GUIDANCE = "https://example.org/auditcycle/audit-guidance"
STAMP = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

ACTION = actions.ActionFacts(
    action_ref=f"{AUDIT}-ACT1", audit_ref=AUDIT, month=MONTH, child_id=CHILD,
    description="Update the chronology to include J.'s change of school", owner_id="S0042",
    owner_name="Sam Owusu", due=date(2027, 1, 15))
ACTION_TWO = actions.ActionFacts(
    action_ref="A-2026-12-011-ACT2", audit_ref="A-2026-12-011", month=MONTH, child_id="C000456",
    description="Hold a core group meeting & share <the plan>", owner_id="S0043", owner_name="Lee Park",
    due=date(2027, 1, 13))


def _invite(summary: str, *, minutes: int = 60, sequence: int = 0) -> Invite:
    start = datetime(2026, 12, 14, 10, 0, tzinfo=UTC)
    return Invite(uid="meeting-1@example.org", sequence=sequence, summary=summary,
                  description="Booked by the Quality Assurance team.", location="Microsoft Teams",
                  start=start, end=start.replace(hour=10 + minutes // 60, minute=minutes % 60),
                  organiser_name="Quality Assurance Team", organiser_email="qa-team@example.org",
                  attendees=(Recipient("S0007", "Alex Auditor", "alex@council.example"),))


def _reminder(*, working_days: int, overdue: bool) -> chasing.ReminderFacts:
    return chasing.ReminderFacts(audit_ref=AUDIT, child_id=CHILD, child_initials=INITIALS, month=MONTH, due=DUE,
                                   working_days=working_days, overdue=overdue, guidance_url=GUIDANCE)


def _meeting(**changes) -> Composed:
    title = f"Audit learning conversation ({AUDIT})"
    facts = MeetingFacts(title=title, audit_ref=AUDIT, child_id=CHILD, note="interpreter needed: Polish",
                         location="Microsoft Teams or telephone: the auditor will confirm", minutes=60,
                         when_label="Monday 14 December 2026, 10:00–11:00")
    invite = _invite(title, sequence=changes.pop("sequence", 0))
    return compose_invite(invite, facts, recipient_name="Alex Auditor", stamp=STAMP,
                          **{"method": "REQUEST", **changes})


def _response(stage: str) -> Composed:
    answered = stage == "responded"
    facts = ResponseFacts(
        response_ref=f"IR-{AUDIT}-1", audit_ref=AUDIT, child_id=CHILD, team="Kestrel Team",
        reason="No visit recorded for 12 weeks & the safety plan has lapsed", raised_label=
        "Tuesday 8 December 2026 at 11:20", raised_by_name="Alex Auditor",
        deadline_label="Wednesday 9 December 2026 at 11:20", hours=24,
        responder_name="Morgan Service" if answered else None,
        responded_label="Tuesday 8 December 2026 at 16:05" if answered else None,
        same_day=True if answered else None,
        response="Visit made today; the safety plan is reviewed with the family." if answered else None)
    return compose_response(facts, stage=stage, recipient_name="Morgan Service",
                            respond_url=None if answered else f"{LINK}respond")


def _notice(*, allocated: bool = True, involved: bool = True, gaps: bool = False) -> Composed:
    gap = (lambda ref, url=None: notices.GapNote(
        shown="no supervision since 22 May 2026", decide_by_label="17:00 on Tuesday 1 December 2026",
        decide_url=url)) if gaps else (lambda ref, url=None: None)
    items = [notices.NoticeItem(audit_ref=AUDIT, child_id=CHILD, role="allocated key worker",
                                auditor_name="Alex Auditor", due_label="Thursday 31 December 2026",
                                family_url=f"{LINK}family-contact"),
             notices.NoticeItem(audit_ref="A-2026-12-011", child_id="C000456", role="team manager",
                                auditor_name="Jo Reviewer", due_label="Thursday 31 December 2026",
                                gap=gap("A-2026-12-011"))]
    mine = [notices.AllocationItem(audit_ref=AUDIT, child_id=CHILD, child_initials=INITIALS,
                                   kind_label="Child in need", team="Kestrel Team",
                                   gap=gap(AUDIT, f"{LINK}supervision-gap"), form_url=f"{LINK}form-1"),
            notices.AllocationItem(audit_ref="A-2026-12-012", child_id="C000789", child_initials="K. M.",
                                   kind_label="Cared for child", team="Sandpiper Team", buddy_name="Jo Reviewer",
                                   buddy_note="Jo Reviewer joins you as buddy auditor for this first audit.",
                                   form_url=f"{LINK}form-2")]
    return notices.compose_notice(recipient_name="Alex Auditor", month=MONTH, due=DUE,
                                  items=items if involved else [], allocated=mine if allocated else [],
                                  lookback_months=6, guidance_url=GUIDANCE)


def _outcome(*, version: int = 1, with_actions: bool = True, may_dispute: bool = True) -> Composed:
    grades = [outcomes.GradeRow("Help, protection and stability", "Good"),
              outcomes.GradeRow("Recording and communication", "Requires improvement to be good"),
              outcomes.GradeRow("Impact and overall outcomes", "Good")]
    rows = [outcomes.ActionRow(f"{AUDIT}-ACT1", "Update the chronology", "Sam Owusu", "Friday 15 January 2027"),
            outcomes.ActionRow(f"{AUDIT}-ACT2", "Hold a core group meeting", "Sam Owusu", "Friday 8 January 2027")]
    return outcomes.compose_outcome(recipient_name="Sam Owusu", audit_ref=AUDIT, child_id=CHILD,
                                    auditor_name="Alex Auditor", overall_label="Good", grades=grades,
                                    actions=rows if with_actions else [], max_days=31, version=version,
                                    dispute_url=f"{LINK}dispute" if may_dispute else None)


def _buddy_review(*, version: int = 1) -> Composed:
    grades = [outcomes.GradeRow("Help, protection and stability", "Good"),
              outcomes.GradeRow("Impact and overall outcomes", "Requires improvement to be good")]
    rows = [outcomes.ActionRow(f"{AUDIT}-ACT1", Redacted("Update the chronology"), "Sam Owusu",
                               "Friday 15 January 2027")]
    return outcomes.compose_buddy_review(recipient_name="Bea Buddy", audit_ref=AUDIT, child_id=CHILD,
                                         auditor_name="Nia Newauditor", overall_label="Requires improvement to be good",
                                         grades=grades, strengths=Redacted("Z. talks about school with the worker."),
                                         actions=rows, version=version, close_label="Friday 15 January 2027",
                                         review_url=f"{LINK}buddy")


def _buddy_word(*, agreed: bool) -> Composed:
    return outcomes.compose_buddy_word(
        recipient_name="Nia Newauditor", audit_ref=AUDIT, child_id=CHILD, buddy_name="Bea Buddy", agreed=agreed,
        comment=Redacted("" if agreed else "Weigh Z.'s school move in the assessment grade."), version=1,
        form_url=f"{LINK}form")


def _observation_items() -> list[observations.ObservationItem]:
    return [observations.ObservationItem(reference="OBS-2026-12-001", practitioner_name="Rae Newman",
                                         kind="social worker", team="Kestrel Team", theme="Voice of the child",
                                         asye=True, record_url=f"{LINK}observe-1"),
            observations.ObservationItem(reference="OBS-2026-12-002", practitioner_name="Lee Park",
                                         kind="family support worker", team=None, theme=None, asye=False,
                                         record_url=f"{LINK}observe-2")]


def _report(*, restricted: bool = False, **changes) -> Composed:
    figures = (report_mail.HeadlineFigure("Audits allocated", "12", "▲", "up 3 from 9 in November 2026"),
               report_mail.HeadlineFigure("Audits completed on time", "70%", "=", "no change from 70% in November 2026"),
               report_mail.HeadlineFigure("Completed audits graded good or better", "60%", "▼",
                                          "down 5 percentage points from 65% in November 2026"))
    summary = report_mail.ReportSummary(**{
        "month": MONTH, "month_label": "December 2026", "edition": 1, "reissue": False, "provisional": False,
        "empty": False, "figures": figures, "flags": 2, "min_cell": 3, **changes})
    compose = report_mail.compose_report_restricted if restricted else report_mail.compose_report
    name = "QA report 2026-12 restricted annex.pdf" if restricted else "QA report 2026-12.pdf"
    return compose(summary, recipient_name="Dana Director", attachment_path=f"/reports/2026-12/{name}",
                   attachment_name=name)


def _trend(kind: str) -> Composed:
    flagged = (learning.FlaggedAudit("A-2026-10-003", "C000321", "2026-10", "Inadequate"),
               learning.FlaggedAudit("A-2026-12-002", "C000654", "2026-12", "Inadequate"))
    titles = {"practitioner_inadequate": "Rae Newman: 2 consecutive audits graded Inadequate",
              "team_inadequate_share": "Sandpiper Team: 67% (2 of 3) of audits graded Inadequate",
              "review_unit_inadequate": f"{AUDIT} (case {CHILD}): Safeguarding and Independent Review Unit domain "
                                        "graded Inadequate for a cared for child"}
    facts = learning.TrendFacts(
        kind=kind, month=MONTH, title=titles[kind],
        staff_name="Rae Newman" if kind == "practitioner_inadequate" else None,
        team_name="Sandpiper Team" if kind == "team_inadequate_share" else None,
        share_label="67% (2 of 3)" if kind == "team_inadequate_share" else None,
        window_label="October 2026 to December 2026" if kind == "team_inadequate_share" else None,
        audits=flagged if kind != "review_unit_inadequate" else (learning.FlaggedAudit(
            AUDIT, CHILD, MONTH, "Role of the Safeguarding and Independent Review Unit: Inadequate (overall Good)"),))
    return learning.compose_trend_flag(facts, recipient_name="Morgan Service", reference="TF-12",
                                       follow_up_url=f"{LINK}trend-follow-up")


def _chase(step: str, *, awaiting_director: bool = False) -> Composed:
    facts = moderation.ChaseFacts(audit_ref=AUDIT, child_id=CHILD, month=MONTH, reason="graded good or better",
                                  grade_label="Good", working_days={"panel": 3, "assistant-director": 8}[step],
                                  awaiting_director=awaiting_director)
    return moderation.compose_chase(facts, recipient_name="Dana Director", step=step,
                                    moderate_url=None if awaiting_director else f"{LINK}moderate",
                                    agree_url=f"{LINK}agree" if awaiting_director else None)


def _panel(*, updated: bool = False, closed: bool = False) -> Composed:
    items = [moderation.PanelItem(AUDIT, CHILD, "graded good or better", "Good",
                                  assistant_director_name="Dana Director", moderate_url=f"{LINK}moderate-1"),
             moderation.PanelItem("A-2026-12-011", "C000456", "random one in three", "Requires improvement to be good",
                                  moderator_name="Pat Improver", assistant_director_name="Dana Director",
                                  moderate_url=f"{LINK}moderate-2"),
             moderation.PanelItem("A-2026-12-012", "C000789", "graded inadequate", "Inadequate")]
    return moderation.compose_panel_list(recipient_name="Dana Director", month=MONTH, items=items, updated=updated,
                                         meeting_label="on Thursday 14 January 2027 at 10:00",
                                         close_label="Friday 15 January 2027", closed=closed)


# A signed link as mail carries it; the token is a placeholder (the links tests make real ones).
LINK = "https://audit.council.example/act/SAMPLE-TOKEN-"

SAMPLES: dict[str, Callable[[], Composed]] = {
    "action_done": lambda: actions.compose_action_done(
        ACTION, recipient_name="Terry Manager", completed_by_name="Sam Owusu",
        completed_label="Monday 11 January 2027", note="Chronology updated to date.",
        sign_off_url=f"{LINK}sign-off"),
    "action_overdue": lambda: actions.compose_action_overdue(
        ACTION, recipient_name="Terry Manager", capacity="the owner's team manager", working_days_overdue=5,
        step=2, steps=3, max_days=31, done_url=f"{LINK}done"),
    "action_overdue--told-only": lambda: actions.compose_action_overdue(
        ACTION, recipient_name="Sally Manager", capacity="the owner's service manager", working_days_overdue=5,
        step=2, steps=3, max_days=31),
    "action_reminder": lambda: actions.compose_action_reminder(
        ACTION, recipient_name="Sam Owusu", working_days_left=2, done_url=f"{LINK}done"),
    "action_reminder--due-today": lambda: actions.compose_action_reminder(
        ACTION, recipient_name="Sam Owusu", working_days_left=0),
    "action_reminders": lambda: actions.compose_action_reminders(recipient_name="Terry Manager", items=[
        actions.ReminderItem(ACTION, working_days_left=2, done_url=f"{LINK}done-1"),
        actions.ReminderItem(ACTION_TWO, working_days_left=0, done_url=f"{LINK}done-2")]),
    "fresh_link": lambda: links.compose_fresh_link(
        recipient_name="Terry Manager", act="sign off action A-2027-01-004-ACT1", url=f"{LINK}fresh",
        expires_label="17:00 on Friday 22 January 2027"),
    "sign_in_link": lambda: console.compose_sign_in_link(
        recipient_name="Quinn Manager", url=f"{LINK}sign-in", expires_label="09:15 on Tuesday 1 December 2026",
        minutes=15),
    "action_reopened": lambda: actions.compose_action_reopened(
        ACTION, recipient_name="Sam Owusu", reviewer_name="Terry Manager",
        reason="The chronology still omits J.'s school move.", reopen_count=2, done_url=f"{LINK}done"),
    "actions_overdue": lambda: actions.compose_actions_overdue(recipient_name="Terry Manager", items=[
        actions.OverdueItem(ACTION, capacity="the owner's team manager", working_days_overdue=1, step=1, steps=3,
                            max_days=31, done_url=f"{LINK}done-1"),
        actions.OverdueItem(ACTION_TWO, capacity="the owner's team manager", working_days_overdue=5, step=2,
                            steps=3, max_days=31)]),
    "acts_handed_over": lambda: handover.compose_acts_handed_over(recipient_name="Terry Manager", items=[
        handover.HandedOverItem(purpose="action-sign-off", subject_ref=f"{AUDIT}-ACT1", from_name="Sam Owusu",
                                reason="left the council", to_names=("Terry Manager",),
                                url="https://audits.council.example/act/eyJwIjoiYWN0aW9uLXNpZ24tb2ZmIn0.sig1",
                                expires_label="10:00 on Tuesday 15 December 2026"),
        handover.HandedOverItem(purpose="panel-vote", subject_ref="MOD-2026-12-3", from_name="Lee Park",
                                reason="changed role", to_names=("Terry Manager",),
                                url="https://audits.council.example/act/eyJwIjoicGFuZWwtdm90ZSJ9.sig2",
                                expires_label="17:00 on Friday 8 January 2027")]),
    "acts_handed_over--qa-manager": lambda: handover.compose_acts_handed_over(recipient_name="Quinn Manager", items=[
        handover.HandedOverItem(purpose="action-sign-off", subject_ref=f"{AUDIT}-ACT1", from_name="Sam Owusu",
                                reason="left the council", to_names=("Quinn Manager", "Rosa Reed"),
                                url="https://audits.council.example/act/eyJwIjoiYWN0aW9uLXNpZ24tb2ZmIn0.sig3",
                                expires_label="10:00 on Tuesday 15 December 2026"),
        handover.HandedOverItem(purpose="action-sign-off", subject_ref="A-2026-12-011-ACT2", from_name="Lee Park",
                                reason="changed role", to_names=("Terry Manager",))]),
    "audit_notice": _notice,
    "audit_notice--allocated-only": lambda: _notice(involved=False),
    "audit_notice--involved-only": lambda: _notice(allocated=False),
    "audit_notice--supervision-gap": lambda: _notice(gaps=True),
    "audit_outcome": _outcome,
    "buddy_review": _buddy_review,
    "buddy_word": lambda: _buddy_word(agreed=True),
    "buddy_word--commented": lambda: _buddy_word(agreed=False),
    "buddy_review--corrected": lambda: _buddy_review(version=2),
    "audit_outcome--updated-without-actions": lambda: _outcome(version=2, with_actions=False),
    "audit_outcome--may-not-dispute": lambda: _outcome(may_dispute=False),
    "audit_reminder": lambda: chasing.compose_audit_reminder(
        _reminder(working_days=5, overdue=False), recipient_name="Alex Auditor", form_url=f"{LINK}form"),
    "audit_reminder--overdue-qa-copied": lambda: chasing.compose_audit_reminder(
        _reminder(working_days=3, overdue=True), recipient_name="Quinn Manager", qa_copied=True),
    "audit_reminders": lambda: chasing.compose_audit_reminders(recipient_name="Quinn Manager", items=[
        chasing.AuditReminderItem(_reminder(working_days=3, overdue=True), auditor_name="Alex Auditor", qa_copied=True),
        chasing.AuditReminderItem(replace(_reminder(working_days=4, overdue=True), audit_ref="A-2026-12-011",
                                          child_id="C000456", child_initials="K. L."),
                                  auditor_name="Sam Owusu", qa_copied=True)]),
    "audit_reminders--own": lambda: chasing.compose_audit_reminders(recipient_name="Alex Auditor", items=[
        chasing.AuditReminderItem(_reminder(working_days=1, overdue=False), auditor_name="Alex Auditor",
                                  qa_copied=False, form_url=f"{LINK}form"),
        chasing.AuditReminderItem(replace(_reminder(working_days=1, overdue=False), audit_ref="A-2026-12-011",
                                          child_id="C000456", child_initials="K. L."),
                                  auditor_name="Alex Auditor", qa_copied=False, form_url=f"{LINK}form2")]),
    "audit_withdrawn": lambda: notices.compose_withdrawal(
        recipient_name="Alex Auditor", month=MONTH, audit_ref=AUDIT, child_id=CHILD,
        reason="The child moved out of the authority."),
    # Rendered directly by auditcycle.booking.meetings, with items shaped as it builds them.
    "booking_exceptions": lambda: render(
        "booking_exceptions", recipient_name="Quinn Manager", month_label="December 2026",
        items=[{"key": f"{AUDIT}-LC", "audit_ref": AUDIT, "child_id": CHILD,
                "title": f"Audit learning conversation ({AUDIT})",
                "reason": "the auditor and the key worker are not both free before the due date"},
               {"key": f"{AUDIT}-FC1", "audit_ref": AUDIT, "child_id": CHILD,
                "title": f"Family call: mother ({AUDIT})", "reason": "no telephone number is recorded"}]),
    "booking_exceptions--unchecked-diary": lambda: render(
        "booking_exceptions", recipient_name="Quinn Manager", month_label="December 2026", items=[],
        unchecked=[{"key": f"{AUDIT}-LC:S0102", "audit_ref": AUDIT, "child_id": CHILD,
                    "title": f"Audit learning conversation ({AUDIT})", "when": "10:00 to 11:30 on Tuesday 8 December",
                    "reason": "Kim Worker's diary could not be read (Microsoft 365 said ErrorMailboxNotFound for "
                              "their calendar)"}]),
    # Rendered directly by auditcycle.notices.review, with rows shaped as it builds them.
    "drawn_list": lambda: render(
        "drawn_list", recipient_name="Quinn Manager", month="2026-12", month_label="December 2026",
        closes_label="12:00 on Tuesday 24 November 2026", approve_url=f"{LINK}approve-list",
        rows=[review.ListedAudit(audit_ref=AUDIT, child_id=CHILD, kind="deep dive", team="Family Support East",
                                 auditor="Alex Auditor (S0101)", buddy=None, supervision_gap=True),
              review.ListedAudit(audit_ref="A-2026-12-002", child_id="C00042", kind="good practice",
                                 team="Children in Care", auditor="Jo Reviewer (S0102)",
                                 buddy="Sam Mentor (S0103)", supervision_gap=False)]),
    "conversation_reminder": lambda: chasing.compose_conversation_reminder(
        _reminder(working_days=1, overdue=False), recipient_names=["Alex Auditor", "Sam Owusu"]),
    "conversation_reminder--overdue": lambda: chasing.compose_conversation_reminder(
        _reminder(working_days=0, overdue=True), recipient_names=["Alex Auditor", "Sam Owusu", "Jo Reviewer"]),
    "conversation_reminders": lambda: chasing.compose_conversation_reminders(recipient_name="Alex Auditor", items=[
        chasing.ConversationItem(_reminder(working_days=1, overdue=False), ("Alex Auditor", "Sam Owusu")),
        chasing.ConversationItem(replace(_reminder(working_days=1, overdue=False), audit_ref="A-2026-12-011",
                                         child_id="C000456", child_initials="K. L."), ("Alex Auditor", "Jo Reviewer"))]),
    # Rendered directly by auditcycle.notifications.gateway, with items shaped as it builds them.
    "delivery_failure": lambda: render(
        "delivery_failure", recipient_name="Quinn Manager",
        items=[{"reference": "M000017", "recipient": "Sam Owusu", "email": "sam.owusu@council.example",
                "subject": f"Reminder: audit {AUDIT} is due by 17:00 on Thursday 31 December 2026",
                "error": "550 5.1.1 No such mailbox"},
               {"reference": "M000018", "recipient": "Alex Auditor", "email": "alex@council.example",
                "subject": "Audit allocation for December 2026: 2 audits", "error": "552 Mailbox full"}]),
    # Rendered directly by auditcycle.notifications.gateway when the day's quota falls short.
    "mail_quota_short": lambda: render(
        "mail_quota_short", recipient_name="Quinn Manager", waiting=3712, mailbox="qa-team@council.example",
        per_day=10000, first_label="Thursday 29 April 2027 at 08:14", last_label="Thursday 29 April 2027",
        reserve_percent=10),
    "immediate_response": lambda: _response("raised"),
    "immediate_response--reminder": lambda: _response("reminder"),
    "immediate_response--escalation": lambda: _response("escalation"),
    "immediate_response--responded": lambda: _response("responded"),
    "learning_session": lambda: learning.compose_learning_session(
        _invite("Reflective learning session: December 2026 audits", minutes=90), recipient_name="Alex Auditor",
        month=MONTH, when_label="Thursday 28 January 2027, 13:30–15:00", minutes=90, stamp=STAMP,
        cant_make_url=f"{LINK}cant-make"),
    "mad_draft": lambda: learning.compose_mad_draft(
        recipient_name="Quinn Manager", reference=f"MAD-{AUDIT}", audit_ref=AUDIT, child_id=CHILD, month=MONTH,
        grade_label="Good", practitioner_name="Sam Owusu",
        summary="J. trusts the worker; K. M. says visits are \"never rushed\".\nThe plan is reviewed <weekly>.",
        approve_url=f"{LINK}mad"),
    "mad_draft--no-strengths": lambda: learning.compose_mad_draft(
        recipient_name="Quinn Manager", reference=f"MAD-{AUDIT}", audit_ref=AUDIT, child_id=CHILD, month=MONTH,
        grade_label="Outstanding", practitioner_name=None, summary="  "),
    "mad_drafts": lambda: learning.compose_mad_drafts(
        recipient_name="Quinn Manager", month=MONTH, drafts=[
            learning.MadDraft(reference=f"MAD-{AUDIT}", audit_ref=AUDIT, child_id=CHILD, grade_label="Good",
                              practitioner_name="Sam Owusu", summary="J. trusts the worker; visits are <never> rushed.",
                              approve_url=f"{LINK}mad-1"),
            learning.MadDraft(reference="MAD-A-2026-12-011", audit_ref="A-2026-12-011", child_id="C000456",
                              grade_label="Outstanding", practitioner_name=None, summary="  ",
                              approve_url=f"{LINK}mad-2")]),
    "mad_interview": lambda: learning.compose_mad_interview(
        _invite("Make a Difference interview: Sam Owusu"), recipient_name="Sam Owusu", reference="MAD-I-3",
        practitioner_name="Sam Owusu", interviewer_name="Pat Improver",
        when_label="Tuesday 19 January 2027, 14:00–15:00", minutes=60, stamp=STAMP, cant_make_url=f"{LINK}cant-make"),
    "mad_interview--updated": lambda: learning.compose_mad_interview(
        _invite("Make a Difference interview: Sam Owusu", sequence=1), recipient_name="Pat Improver",
        reference="MAD-I-3", practitioner_name="Sam Owusu", interviewer_name="Pat Improver",
        when_label="Wednesday 20 January 2027, 09:00–10:00", minutes=60, stamp=STAMP,
        reason="Sam Owusu cannot make Tuesday 19 January 2027, 14:00–15:00: on a home visit",
        cant_make_url=f"{LINK}cant-make-1"),
    "mad_nominated": lambda: learning.compose_mad_nominated(
        recipient_name="Terry Manager", reference="MAD-I-3", practitioner_name="Sam Owusu",
        interviewer_name="Pat Improver", when_label="Tuesday 19 January 2027, 14:00–15:00"),
    "mad_nominated--to-be-arranged": lambda: learning.compose_mad_nominated(
        recipient_name="Terry Manager", reference="MAD-I-3", practitioner_name="Sam Owusu",
        interviewer_name=None, when_label=None),
    "mad_unbooked": lambda: learning.compose_mad_unbooked(
        recipient_name="Quinn Manager", reference="MAD-I-3", practitioner_name="Sam Owusu",
        nominator_name="Terry Manager", reason="no hour in the next 20 working days has them both free"),
    "meeting_invite": lambda: _meeting(cant_make_url=f"{LINK}cant-make"),
    "meeting_invite--updated": lambda: _meeting(sequence=1, cant_make_url=f"{LINK}cant-make-1",
                                                reason="Sam Owusu cannot make Monday 14 December 2026, 10:00–11:00: a court hearing"),
    "meeting_invite--optional-buddy": lambda: _meeting(optional=True, cant_make_url=f"{LINK}cant-come"),
    "meeting_invite--cancelled": lambda: _meeting(sequence=2, method="CANCEL", reason="the audit was withdrawn"),
    "moderation_assignment": lambda: moderation.compose_assignment(
        recipient_name="Pat Improver", month=MONTH, audit_ref=AUDIT, child_id=CHILD, grade_label="Good",
        close_label="Friday 15 January 2027", meeting_label="on Thursday 14 January 2027 at 10:00",
        moderate_url=f"{LINK}moderate"),
    "moderation_meeting": lambda: moderation.compose_panel_invite(
        _invite("Audit moderation panel: December 2026", minutes=120), recipient_name="Dana Director",
        month=MONTH, when_label="Thursday 14 January 2027, 10:00–12:00", minutes=120, audits=3,
        close_label="Friday 15 January 2027", stamp=STAMP, cant_make_url=f"{LINK}cant-make"),
    "moderation_meeting--updated": lambda: moderation.compose_panel_invite(
        _invite("Audit moderation panel: December 2026", minutes=120, sequence=1), recipient_name="Dana Director",
        month=MONTH, when_label="Friday 15 January 2027, 10:00–12:00", minutes=120, audits=3,
        close_label="Friday 15 January 2027", stamp=STAMP,
        reason="Pat Improver cannot make Thursday 14 January 2027, 10:00–12:00: a court hearing",
        cant_make_url=f"{LINK}cant-make-1"),
    "moderation_outcome": lambda: moderation.compose_outcome(
        recipient_name="Alex Auditor", month=MONTH, audit_ref=AUDIT, child_id=CHILD, original_label="Good",
        moderated_label="Requires improvement to be good",
        moves=[moderation.GradeMove("Assessment", "Good", "Requires improvement to be good")]),
    "moderation_outcome--agreed": lambda: moderation.compose_outcome(
        recipient_name="Alex Auditor", month=MONTH, audit_ref=AUDIT, child_id=CHILD, original_label="Good",
        moderated_label="Good", moves=[]),
    "moderation_panel": _panel,
    "moderation_panel--updated": lambda: _panel(updated=True),
    "moderation_panel--after-closure": lambda: _panel(updated=True, closed=True),
    "moderation_chase": lambda: _chase("panel"),
    "moderation_chase--awaiting-director": lambda: _chase("assistant-director", awaiting_director=True),
    "moderation_chases": lambda: moderation.compose_chases(recipient_name="Pat Panel", items=[
        moderation.ChaseItem(moderation.ChaseFacts(audit_ref=AUDIT, child_id=CHILD, month=MONTH,
                                                   reason="graded good or better", grade_label="Good", working_days=3,
                                                   awaiting_director=False), "panel", moderate_url=f"{LINK}moderate-1"),
        moderation.ChaseItem(moderation.ChaseFacts(audit_ref="A-2026-12-011", child_id="C000456", month=MONTH,
                                                   reason="random one in three", grade_label="Inadequate",
                                                   working_days=4, awaiting_director=True), "panel",
                             agree_url=None)]),
    "moderation_unbooked": lambda: moderation.compose_unbooked(
        recipient_name="Quinn Manager", month=MONTH, reason="no two-hour slot has the whole panel free", audits=3),
    "observation_assignment": lambda: observations.compose_assignment(
        recipient_name="Terry Manager", month=MONTH, due=DUE, items=_observation_items()),
    "observation_reminder": lambda: observations.compose_reminder(
        recipient_name="Terry Manager", month=MONTH, due=DUE, items=_observation_items()[:1], working_days=1,
        overdue=False),
    "observation_reminder--overdue": lambda: observations.compose_reminder(
        recipient_name="Terry Manager", month=MONTH, due=DUE, items=_observation_items(), working_days=2,
        overdue=True),
    "observation_summary": lambda: observations.compose_summary(
        recipient_name="Quinn Manager", month=MONTH, due=DUE, theme="Voice of the child",
        assignments=[observations.AssignmentRow("OBS-2026-12-001", "Terry Manager", "Rae Newman",
                                                "social worker", True),
                     observations.AssignmentRow("OBS-2026-12-002", "Alex Auditor", "Lee Park",
                                                "family support worker", False)],
        due_rows=[observations.DueRow("Rae Newman", "social worker", "Kestrel Team",
                                      observations.last_observed_label(None), "OBS-2026-12-001"),
                  observations.DueRow("Chris Lowe", "social worker", None,
                                      observations.last_observed_label(date(2025, 11, 3)), None)],
        auditors_without=["Jo Reviewer"], newly_qualified_without=["Ash Green"], interval_months=12),
    "observation_summary--nobody-due": lambda: observations.compose_summary(
        recipient_name="Quinn Manager", month=MONTH, due=DUE, theme=None, assignments=[], due_rows=[],
        auditors_without=[], newly_qualified_without=[], interval_months=12),
    "questionnaire": lambda: learning.compose_questionnaire(
        recipient_name="Alex Auditor", audit_ref=AUDIT, url=f"{LINK}questionnaire"),
    "optional_apology": lambda: compose_optional_apology(
        recipient_name="Alex Auditor", title="Audit learning conversation", audit_ref=AUDIT, child_id=CHILD,
        when_label="Tuesday 8 December 2026, 10:00–11:00", person_name="Bea Buddy",
        reason="On leave that day; J. <will> be covering"),
    "counter_declined": lambda: compose_counter_declined(
        recipient_name="Kay Worker", title=f"Audit learning conversation ({AUDIT})", audit_ref=AUDIT, child_id=CHILD,
        when_label="Tuesday 8 December 2026, 10:00–11:00", proposed_label="10:00 on Monday 28 December 2026",
        reason="Monday 28 December 2026 is a bank holiday (Boxing Day (substitute day)), not a working day",
        calendar="BEGIN:VCALENDAR\r\nMETHOD:DECLINECOUNTER\r\nEND:VCALENDAR\r\n"),
    "reply_for_qa": lambda: compose_reply_for_qa(
        recipient_name="Quinn Manager", outcome="held", sender=Redacted("[removed]"),
        received_label="10:00 on Thursday 26 November 2026",
        reason=Redacted("DMARC did not pass for partner.example (mx.council.example recorded fail for "
                        "partner.example)"), title=f"Audit learning conversation ({AUDIT})", audit_ref=AUDIT,
        child_id=CHILD, when_label="Tuesday 8 December 2026, 10:00–11:00"),
    "reply_for_qa--handed-over": lambda: compose_reply_for_qa(
        recipient_name="Quinn Manager", outcome="handed_over", sender=Redacted("kay.worker@council.example"),
        received_label="10:00 on Thursday 26 November 2026",
        reason=Redacted("Kay Worker declined; it has moved 2 times for declines (the limit is 2), so it is for the "
                        "QA team to book"), title=f"Audit learning conversation ({AUDIT})", audit_ref=AUDIT,
        child_id=CHILD, when_label="Tuesday 8 December 2026, 10:00–11:00"),
    "reply_for_qa--unreadable": lambda: compose_reply_for_qa(
        recipient_name="Quinn Manager", outcome="unreadable", sender=Redacted("[removed]"),
        received_label="10:00 on Thursday 26 November 2026",
        reason=Redacted("the calendar part has 300,040 bytes, over the limit of 200,000")),
    "questionnaire--no-link": lambda: learning.compose_questionnaire(
        recipient_name="Alex Auditor", audit_ref=AUDIT, url=None),
    "report_broadcast": lambda: _report(provisional=True),
    "report_broadcast--reissued": lambda: _report(edition=2, reissue=True),
    "report_broadcast--empty": lambda: _report(empty=True, figures=()),
    "report_restricted": lambda: _report(restricted=True, provisional=True),
    "report_restricted--reissued-no-flags": lambda: _report(restricted=True, edition=2, reissue=True, flags=0),
    "session_apology": lambda: learning.compose_session_apology(
        recipient_name="Quinn Manager", title="Reflective learning session: December 2026 audits",
        when_label="Thursday 28 January 2027, 13:30–15:00", person_name="Sam Owusu",
        reason="On leave that week; J. <will> be at court", apologies=2, invited=14),
    "session_apology--no-reason": lambda: learning.compose_session_apology(
        recipient_name="Quinn Manager", title="Reflective learning session: December 2026 audits",
        when_label="Thursday 28 January 2027, 13:30–15:00", person_name="Sam Owusu", reason=None, apologies=1,
        invited=14),
    "supervision_prompt": lambda: outcomes.compose_supervision_prompt(
        recipient_name="Terry Manager", audit_ref=AUDIT, child_id=CHILD, practitioner_name="Sam Owusu",
        overall_label="Requires improvement to be good", record_url=f"{LINK}supervision",
        nominate_url=f"{LINK}mad-nominate"),
    "supervision_prompt--with-responses": lambda: outcomes.compose_supervision_prompt(
        recipient_name="Terry Manager", audit_ref=AUDIT, child_id=CHILD, practitioner_name="Sam Owusu",
        overall_label="Inadequate", responses=[f"IR-{AUDIT}-1", f"IR-{AUDIT}-2"], record_url=f"{LINK}supervision"),
    "supervision_prompt--not-their-team": lambda: outcomes.compose_supervision_prompt(
        recipient_name="Terry Manager", audit_ref=AUDIT, child_id=CHILD, practitioner_name="Sam Owusu",
        overall_label="Good"),
    "trend_flag": lambda: _trend("practitioner_inadequate"),
    "trend_flag--team": lambda: _trend("team_inadequate_share"),
    "trend_flag--review-unit": lambda: _trend("review_unit_inadequate"),
    "trend_followed_up": lambda: learning.compose_trend_followed_up(
        recipient_name="Quinn Manager", reference="TF-12", month=MONTH,
        title="Rae Newman: 2 consecutive audits graded Inadequate", by_name="Morgan Service",
        at_label="10:00 on Monday 18 January 2027",
        contributed=Redacted("Plans were not updated after the change of school (C000321);\nsupervision <lapsed>."),
        outcome_label="A discussion with the practitioner and their manager",
        note=Redacted("Discussion booked with Rae Newman and her manager for 25 January.")),
    "trend_followed_up--no-note": lambda: learning.compose_trend_followed_up(
        recipient_name="Quinn Manager", reference="TF-13", month=MONTH, title="Sandpiper Team: 67% (2 of 3) of "
        "audits graded Inadequate", by_name="Pat Principal", at_label="10:00 on Monday 18 January 2027",
        contributed=Redacted("Two new starters carried complex cases without a co-worker."),
        outcome_label="A learning session", note=None),
    "good_practice_ask": lambda: nominations.compose_good_practice_ask(
        recipient_name="Morgan Service", service_name="Children's Social Care", month="2027-01",
        deadline_label="17:00 on Friday 18 December 2026", draw_label="Monday 21 December 2026", per_service=1,
        exclusion_months=6, nominate_url=f"{LINK}good-practice"),
    "good_practice_ask--several": lambda: nominations.compose_good_practice_ask(
        recipient_name="Morgan Service", service_name="Early Help & <Family> Support", month="2027-01",
        deadline_label="17:00 on Friday 18 December 2026", draw_label="Monday 21 December 2026", per_service=3,
        exclusion_months=6, nominate_url=f"{LINK}good-practice"),
}


def templates() -> list[str]:
    """Return the name of every email template the application ships."""
    folder = resources.files("auditcycle.templates") / "emails" / "messages"
    return sorted(p.name.removesuffix(".j2") for p in folder.iterdir() if p.name.endswith(".j2"))


@pytest.fixture(autouse=True)
def default_framework(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Render with the framework's default settings, whatever this machine's configuration says."""
    monkeypatch.chdir(tmp_path)  # away from any ./auditcycle.toml
    for name in [n for n in os.environ if n.startswith("AUDITCYCLE_")]:
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def text_snapshot(composed: Composed) -> str:
    """Return what the .txt snapshot holds: the subject and other headers, a blank line, the text part."""
    headers = [f"Subject: {composed.subject}", f"Template: {composed.template}"]
    if composed.importance:
        headers.append(f"Importance: {composed.importance}")
    if composed.calendar_method:
        headers.append(f"Calendar: {composed.calendar_method}")
    if composed.attachment_name:
        headers.append(f"Attachment: {composed.attachment_name}")
    return "\n".join(headers) + "\n\n" + composed.text


def _compare(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.relative_to(Path(__file__).parent)}; write it with:\n    {HOW_TO_UPDATE}")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                            fromfile=f"{path.name} (stored)", tofile=f"{path.name} (rendered)"))
        pytest.fail(f"{path.name} differs from its snapshot. If the change is meant, rewrite the snapshots with\n"
                    f"    {HOW_TO_UPDATE}\nand review the diff before committing.\n\n{diff}", pytrace=False)


def test_every_template_has_a_sample() -> None:
    sampled = {name.split("--")[0] for name in SAMPLES}
    assert [t for t in templates() if t not in sampled] == [], "add a sample for each new template to SAMPLES"
    assert sorted(sampled - set(templates())) == [], "a sample names a template that does not exist"


def test_every_snapshot_belongs_to_a_sample() -> None:
    stored = {p.stem for p in SNAPSHOTS.glob("*") if p.suffix in {".txt", ".html"}}
    if UPDATE:
        for stale in stored - set(SAMPLES):
            for suffix in (".txt", ".html"):
                (SNAPSHOTS / f"{stale}{suffix}").unlink(missing_ok=True)
        return
    assert sorted(stored - set(SAMPLES)) == [], f"stale snapshots: delete them, or run {HOW_TO_UPDATE}"


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_email_matches_its_snapshot(sample: str) -> None:
    composed = SAMPLES[sample]()
    assert composed.template == sample.split("--")[0]
    _compare(SNAPSHOTS / f"{sample}.txt", text_snapshot(composed))
    _compare(SNAPSHOTS / f"{sample}.html", composed.html)


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_text_part_is_plain_and_html_part_is_whole(sample: str) -> None:
    composed = SAMPLES[sample]()
    assert not HTML_TAG.search(composed.text), "HTML markup in the text part"
    assert max(len(line) for line in composed.text.splitlines()) <= 998
    assert composed.html.startswith("<!DOCTYPE html>") and composed.html.rstrip().endswith("</html>")
    assert f"<title>{escape(composed.subject)}</title>" in composed.html


def test_working_day_end_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITCYCLE_FRAMEWORK__WORKING_DAY_END", "16:30")
    get_settings.cache_clear()
    assert get_settings().framework.working_day_end == time(16, 30)
    for sample in ("action_reminder", "action_reminder--due-today", "audit_reminder", "observation_assignment"):
        composed = SAMPLES[sample]()
        assert "17:00" not in composed.subject + composed.text + composed.html, sample
        assert "16:30" in composed.text and "16:30" in composed.html, sample
