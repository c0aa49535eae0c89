"""The signed links in a received email, and the rows they name: how tests follow a link as its reader would."""
import re
from email.message import EmailMessage

from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.links.tokens import read_link
from auditcycle.models import Link

_LINK = re.compile(r"https?://\S+?/act/([A-Za-z0-9._-]+)")


def body_text(message: EmailMessage) -> str:
    """Return the plain-text part of a received message."""
    return message.get_body(("plain",)).get_content()


def link_urls(message: EmailMessage) -> list[str]:
    """Return every signed link in the message's plain-text part, in order (each once)."""
    found = [m.group(0) for m in _LINK.finditer(body_text(message))]
    return list(dict.fromkeys(found))


def labelled_link(message: EmailMessage, label: str) -> str:
    """Return the link written after `label: ` in the plain-text part (the text form of a button or a link)."""
    match = re.search(re.escape(label) + r": (https?://\S+/act/\S+)", body_text(message))
    assert match, f"no link labelled {label!r} in:\n{body_text(message)}"
    return match.group(1)


def link_row(session: Session, ctx: AppContext, url: str) -> Link:
    """Return the row of a link that may be followed now (raises LinkProblem otherwise)."""
    return read_link(session, ctx, url.rsplit("/act/", 1)[1])
