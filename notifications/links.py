"""Compose the messages about links themselves: a fresh link for one that expired or was withdrawn."""
from auditcycle.notifications.message import Composed
from auditcycle.notifications.render import render


def compose_fresh_link(*, recipient_name: str, act: str, url: str, expires_label: str) -> Composed:
    """Compose the email carrying a fresh link for an act, asked for from the page of an old one."""
    return render("fresh_link", recipient_name=recipient_name, act=act, url=url, expires_label=expires_label)
