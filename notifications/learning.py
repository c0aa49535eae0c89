"""Compose the messages of the learning culture: Make a Difference, trend flags, the learning session, questionnaires.

Pure functions: given the facts, return the composed message; recipients and queueing live in
`auditcycle/learning/culture.py` and `auditcycle/trends/scrutiny.py`.
"""
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from auditcycle.core.clock import Month
from auditcycle.core.text import Redacted
from auditcycle.notifications.invites import Invite, calendar_text
from auditcycle.notifications.message import Composed
from auditcycle.notifications.notices import month_label
from auditcycle.notifications.render import render


@dataclass(frozen=True)
class FlaggedAudit:
    """One audit a trend flag names: reference, case id and final grade only."""

    audit_ref: str
    child_id: str
    month: Month
    grade_label: str


@dataclass(frozen=True)
class TrendFacts:
    """What a trend flag says, with staff and team names and references instead of children's names."""

    kind: str
    month: Month
    title: str
    staff_name: str | None
    team_name: str | None
    share_label: str | None
    window_label: str | None
    audits: tuple[FlaggedAudit, ...]


@dataclass(frozen=True)
class MadDraft:
    """One draft Make a Difference summary as the QA team is asked to approve it: references and a redacted summary."""

    reference: str
    audit_ref: str
    child_id: str
    grade_label: str
    practitioner_name: str | None
    summary: Redacted
    approve_url: str | None = None  # the recipient's own link to check, edit and approve it


def compose_mad_drafts(*, recipient_name: str, month: Month, drafts: Sequence[MadDraft]) -> Composed:
    """Compose one QA team member's note of the drafts to approve: the draft alone, or a digest naming each."""
    if len(drafts) == 1:
        [draft] = drafts
        return compose_mad_draft(recipient_name=recipient_name, month=month, **draft.__dict__)
    return render("mad_drafts", recipient_name=recipient_name, month_label=month_label(month), drafts=list(drafts))


def compose_mad_draft(*, recipient_name: str, reference: str, audit_ref: str, child_id: str, month: Month,
                      grade_label: str, practitioner_name: str | None, summary: Redacted,
                      approve_url: str | None = None) -> Composed:
    """Compose the note asking the QA team to review and approve a draft Make a Difference summary."""
    return render("mad_draft", recipient_name=recipient_name, reference=reference, audit_ref=audit_ref,
                  child_id=child_id, month_label=month_label(month), grade_label=grade_label,
                  practitioner_name=practitioner_name, summary=summary, approve_url=approve_url)


def compose_mad_interview(invite: Invite, *, recipient_name: str, reference: str, practitioner_name: str,
                          interviewer_name: str, when_label: str, minutes: int, stamp: datetime,
                          reason: Redacted | None = None, cant_make_url: str | None = None) -> Composed:
    """Compose a Make a Difference interview request, or its update once it has moved, with its calendar part.

    `cant_make_url` is the recipient's signed link to say they cannot make the time; `reason` why it moved.
    """
    body = render("mad_interview", recipient_name=recipient_name, reference=reference, title=invite.summary,
                  practitioner_name=practitioner_name, interviewer_name=interviewer_name, when_label=when_label,
                  minutes=minutes, location=invite.location, sequence=invite.sequence, reason=reason,
                  cant_make_url=cant_make_url)
    return replace(body, calendar=calendar_text(invite, method="REQUEST", stamp=stamp), calendar_method="REQUEST")


def compose_mad_nominated(*, recipient_name: str, reference: str, practitioner_name: str,
                          interviewer_name: str | None, when_label: str | None) -> Composed:
    """Compose the note telling the nominating manager the interview is booked, or will be arranged."""
    return render("mad_nominated", recipient_name=recipient_name, reference=reference,
                  practitioner_name=practitioner_name, interviewer_name=interviewer_name, when_label=when_label)


def compose_mad_unbooked(*, recipient_name: str, reference: str, practitioner_name: str, nominator_name: str,
                         reason: str) -> Composed:
    """Compose the plain exception telling the QA manager an interview could not be booked."""
    return render("mad_unbooked", recipient_name=recipient_name, reference=reference,
                  practitioner_name=practitioner_name, nominator_name=nominator_name, reason=reason)


def compose_trend_flag(facts: TrendFacts, *, recipient_name: str, reference: str | None = None,
                       follow_up_url: str | None = None) -> Composed:
    """Compose a trend flag for a service manager or the principal social worker, with their follow-up link."""
    return render("trend_flag", recipient_name=recipient_name, kind=facts.kind, month_label=month_label(facts.month),
                  title=facts.title, staff_name=facts.staff_name, team_name=facts.team_name,
                  share_label=facts.share_label, window_label=facts.window_label, audits=list(facts.audits),
                  reference=reference, follow_up_url=follow_up_url)


def compose_trend_followed_up(*, recipient_name: str, reference: str, month: Month, title: str, by_name: str,
                              at_label: str, contributed: Redacted, outcome_label: str,
                              note: Redacted | None) -> Composed:
    """Compose the QA manager's note that a trend flag was followed up: what contributed and what follows."""
    return render("trend_followed_up", recipient_name=recipient_name, reference=reference,
                  month_label=month_label(month), title=title, by_name=by_name, at_label=at_label,
                  contributed=contributed, outcome_label=outcome_label, note=note)


def compose_learning_session(invite: Invite, *, recipient_name: str, month: Month, when_label: str, minutes: int,
                             stamp: datetime, cant_make_url: str | None = None) -> Composed:
    """Compose one person's invitation to the month's reflective learning session.

    `cant_make_url` is the recipient's signed link to send their apologies: the session does not move for one.
    """
    body = render("learning_session", recipient_name=recipient_name, month_label=month_label(month),
                  title=invite.summary, when_label=when_label, minutes=minutes, location=invite.location,
                  cant_make_url=cant_make_url)
    return replace(body, calendar=calendar_text(invite, method="REQUEST", stamp=stamp), calendar_method="REQUEST")


def compose_session_apology(*, recipient_name: str, title: str, when_label: str, person_name: str,
                            reason: Redacted | None, apologies: int, invited: int) -> Composed:
    """Compose the note telling the QA team someone cannot come to the learning session, which stays where it is."""
    return render("session_apology", recipient_name=recipient_name, title=title, when_label=when_label,
                  person_name=person_name, reason=reason, apologies=apologies, invited=invited)


def compose_questionnaire(*, recipient_name: str, audit_ref: str, url: str | None) -> Composed:
    """Compose the new-auditor feedback questionnaire sent after a first audit, with the auditor's link to answer it."""
    return render("questionnaire", recipient_name=recipient_name, audit_ref=audit_ref, url=url)


def audit_lines(audits: Sequence[FlaggedAudit]) -> list[str]:
    """Return the audits of a flag as one plain line each, for the stored detail."""
    return [f"{a.audit_ref} (case {a.child_id}, {a.month}): {a.grade_label}" for a in audits]
