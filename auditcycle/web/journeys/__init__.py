"""The journeys a signed link opens, one module per part of the cycle; importing them registers them."""
from auditcycle.web.journeys import (  # noqa: F401
    actions,
    audit_form,
    buddy,
    family,
    immediate_responses,
    learning,
    meetings,
    moderation,
    nominations,
    observations,
    outcomes,
    questionnaire,
    review,
    sign_in,
    supervision_gaps,
    trends,
)
