"""Compose the good-practice ask: a service manager is asked for an example of good practice for a month's audit.

A pure function: given the facts, return the composed message; recipients and queueing live in
`auditcycle/sampling/nominations.py`.
"""
from auditcycle.core.clock import Month
from auditcycle.notifications.message import Composed
from auditcycle.notifications.notices import month_label
from auditcycle.notifications.render import render


def compose_good_practice_ask(*, recipient_name: str, service_name: str, month: Month, deadline_label: str,
                              draw_label: str, per_service: int, exclusion_months: int,
                              nominate_url: str) -> Composed:
    """Compose the ask to one service manager for a good-practice example from their service for a month."""
    return render("good_practice_ask", recipient_name=recipient_name, service_name=service_name,
                  month_label=month_label(month), deadline_label=deadline_label, draw_label=draw_label,
                  per_service=per_service, exclusion_months=exclusion_months, nominate_url=nominate_url)
