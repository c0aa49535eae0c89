"""Compose Immediate Response messages: raised, reminded, escalated and answered."""
from dataclasses import dataclass, replace

from auditcycle.core.text import Redacted
from auditcycle.notifications.message import Composed
from auditcycle.notifications.render import render


@dataclass(frozen=True)
class ResponseFacts:
    """What an Immediate Response message says, with references rather than names."""

    response_ref: str
    audit_ref: str
    child_id: str
    team: str
    reason: Redacted
    raised_label: str
    raised_by_name: str | None
    deadline_label: str
    hours: int
    responder_name: str | None = None
    responded_label: str | None = None
    same_day: bool | None = None
    response: Redacted | None = None


def compose_response(facts: ResponseFacts, *, stage: str, recipient_name: str, respond_url: str | None = None) -> Composed:
    """Compose one stage's message, with the recipient's link to respond if they may; all but the answer are high importance."""
    composed = render("immediate_response", recipient_name=recipient_name, stage=stage, respond_url=respond_url,
                      **facts.__dict__)
    return composed if stage == "responded" else replace(composed, importance="high")
