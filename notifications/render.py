"""Render emails: each message's words are written once, in templates/emails/messages/<name>.j2, and rendered
through the one layout templates/emails/base.j2 twice, as plain text and as HTML (base.j2 explains the design).
"""
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from auditcycle.core.settings import get_settings
from auditcycle.notifications.message import Composed

PARTS = ("text", "html")
_CELL = re.compile(r"<td>.*?</td>", re.DOTALL)
_BLANK_LINES = re.compile(r"\n{3,}")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Return the Jinja environment over templates/ (the report pages), escaping HTML always."""
    root = resources.files("auditcycle.templates")
    env = Environment(
        loader=FileSystemLoader(str(root)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


@lru_cache(maxsize=len(PARTS))
def email_environment(part: str) -> Environment:
    """Return the Jinja environment over templates/emails for one part: HTML escapes every value, text none."""
    if part not in PARTS:
        raise ValueError(f"an email part is text or html, not {part!r}")
    env = Environment(
        loader=FileSystemLoader(str(resources.files("auditcycle.templates") / "emails")),
        # Decided by the part, not the file name: the same message file renders both parts.
        autoescape=part == "html",
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cells"] = _cells
    env.filters["wrap"] = wrap
    return env


def wrap(text: str, width: int) -> str:
    """Join a paragraph's whitespace and wrap it at `width`, never breaking a word, so never a URL or a path."""
    # Jinja's wordwrap filter (textwrap) does the same at ten times the cost, and emails have many paragraphs.
    lines: list[str] = []
    line = ""
    for word in str(text).split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def _cells(row: str) -> Markup:
    """Keep only the cells of a table row written as its text line (see fmt/html.j2)."""
    # Values are escaped before they reach here, so "<td>" can only come from the cell() macro.
    return Markup("".join(_CELL.findall(str(row))))


def one_line(value: str) -> str:
    """Collapse whitespace, including CR and LF, so a value is safe in a header."""
    return " ".join(value.split())


def day_end() -> str:
    """Return the end of the working day from the settings as the emails state it, such as '17:00'."""
    return f"{get_settings().framework.working_day_end:%H:%M}"


def framework_values() -> dict[str, str]:
    """Return the framework numbers the templates state, formatted, as the `framework` of every email."""
    return {"day_end": day_end()}


def render_parts(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Render messages/<template>.j2 through the layout as subject, text part and HTML part."""
    values = {**context, "framework": framework_values()}
    subject = ""
    rendered: dict[str, str] = {}
    for part in PARTS:
        env = email_environment(part)
        fmt = env.get_template(f"fmt/{part}.j2").module
        message = env.get_template(f"messages/{template}.j2").make_module({**values, "part": part, "fmt": fmt})
        if part == "text":
            subject = one_line(str(message.subject()))
            if not subject:
                raise ValueError(f"template emails/messages/{template}.j2 gives no subject")
        rendered[part] = env.get_template("base.j2").render(
            {**values, "part": part, "fmt": fmt, "message": message, "subject": subject})
    return subject, _tidy_text(rendered["text"]), rendered["html"]


def _tidy_text(text: str) -> str:
    """Drop trailing spaces and runs of blank lines, which the blocks of fmt/text.j2 leave between them."""
    lines = "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
    return _BLANK_LINES.sub("\n\n", lines) + "\n"


def render(template: str, **context: Any) -> Composed:
    """Render the email emails/messages/<template>.j2: its subject, text part and HTML part."""
    subject, text, html = render_parts(template, context)
    return Composed(template=template, subject=subject, text=text, html=html)


# A digest's subject names this many items, then how many more: enough to find one by its reference.
SUBJECT_REFERENCES = 5


def subject_references(references: list[str]) -> str:
    """Name the first few items of a digest by reference, then how many more, for its subject line."""
    more = len(references) - SUBJECT_REFERENCES
    return ", ".join(references[:SUBJECT_REFERENCES]) + (f" and {more} more" if more > 0 else "")
