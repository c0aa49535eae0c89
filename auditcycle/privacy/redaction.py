"""Keep names out of free text before it leaves the database in a message or a file."""
import re
from collections.abc import Iterable

from auditcycle.models import Child

WITHHELD = "[removed]"


def redact(text: str, names: Iterable[str]) -> str:
    """Replace each given name, as a whole word and in any case, with its initial and a full stop."""
    for name in sorted({n for n in names if n and len(n.strip()) > 1}, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(name.strip())}(?!\w)", re.IGNORECASE)
        text = pattern.sub(f"{name.strip()[0].upper()}.", text)
    return text


def child_names(child) -> list[str]:
    """List the names that must not appear in text about a child: theirs and their family contacts'."""
    names = [child.first_name, child.last_name, f"{child.first_name} {child.last_name}"]
    for contact in child.contacts:
        names.append(contact.name)
        names.extend(contact.name.split())
    return names


def scrub(text: str, child: Child | None) -> str:
    """Redact a child's and their family contacts' names, the contacts' phones and the child's birth date."""
    if child is None:
        return text
    text = redact(text, child_names(child))
    for contact in child.contacts:
        digits = re.sub(r"\D", "", contact.phone or "")
        if len(digits) >= 6:
            # Any spacing or punctuation between the digits, as people type numbers differently.
            text = re.sub(r"\+?" + r"[\s().-]*".join(digits), WITHHELD, text)
    dob = child.date_of_birth
    for form in (dob.isoformat(), f"{dob:%d/%m/%Y}", f"{dob.day}/{dob.month}/{dob.year}"):
        text = text.replace(form, WITHHELD)
    return text
