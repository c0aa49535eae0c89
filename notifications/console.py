"""Compose the messages of the QA console: the sign-in link."""
from auditcycle.notifications.message import Composed
from auditcycle.notifications.render import render


def compose_sign_in_link(*, recipient_name: str, url: str, expires_label: str, minutes: int) -> Composed:
    """Compose the email carrying a link that signs a member of the QA team in to the console."""
    return render("sign_in_link", recipient_name=recipient_name, url=url, expires_label=expires_label,
                  minutes=minutes)
