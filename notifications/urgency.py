"""Urgency: the order queued mail goes in when the sending mailbox's limits hold some of it back."""
from enum import IntEnum

from sqlalchemy import ColumnElement, case

from auditcycle.models import OutboxMessage


class Urgency(IntEnum):
    """How soon a message must go, most urgent first: the order of sending when not all can go at once."""

    IMMEDIATE_RESPONSE = 0
    ESCALATION = 1
    REMINDER = 2
    NOTICE = 3
    DIGEST = 4


# The template says what a message is; the phase only fills in for the chase phase's own reminders.
_BY_TEMPLATE: dict[str, Urgency] = {
    "immediate_response": Urgency.IMMEDIATE_RESPONSE,
    # The QA manager's warning that the day's quota falls short must itself go, so it may use the reserve.
    "mail_quota_short": Urgency.IMMEDIATE_RESPONSE,
    "actions_overdue": Urgency.ESCALATION,
    "action_overdue": Urgency.ESCALATION,
    "moderation_chase": Urgency.ESCALATION,
    # Someone is waiting at the screen for these, and a sign-in link lasts minutes.
    "sign_in_link": Urgency.ESCALATION,
    "fresh_link": Urgency.ESCALATION,
    "action_reminder": Urgency.REMINDER,
    "action_reminders": Urgency.REMINDER,
    "audit_reminder": Urgency.REMINDER,
    "conversation_reminder": Urgency.REMINDER,
    "observation_reminder": Urgency.REMINDER,
    "mad_drafts": Urgency.DIGEST,
    "observation_summary": Urgency.DIGEST,
    "booking_exceptions": Urgency.DIGEST,
    "report_broadcast": Urgency.DIGEST,
    "report_restricted": Urgency.DIGEST,
}
_BY_PHASE: dict[str, Urgency] = {"chase": Urgency.REMINDER}


def urgency(phase: str, template: str) -> Urgency:
    """Return how urgent a message of this phase and template is."""
    if template in _BY_TEMPLATE:
        return _BY_TEMPLATE[template]
    return _BY_PHASE.get(phase, Urgency.NOTICE)


def urgency_order() -> ColumnElement[int]:
    """Return `urgency` as SQL over the outbox, for ordering the queue most urgent first."""
    return case(
        *[(OutboxMessage.template == template, int(rank)) for template, rank in _BY_TEMPLATE.items()],
        *[(OutboxMessage.phase == phase, int(rank)) for phase, rank in _BY_PHASE.items()],
        else_=int(Urgency.NOTICE))
