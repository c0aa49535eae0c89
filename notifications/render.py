"""Render email templates: each template sets its subject and has .txt and .html variants."""
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from auditcycle.notifications.message import Composed


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Return the Jinja environment over templates/, escaping HTML always."""
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


def one_line(value: str) -> str:
    """Collapse whitespace, including CR and LF, so a value is safe in a header."""
    return " ".join(value.split())


def render(template: str, **context: Any) -> Composed:
    """Render emails/<template>.txt and .html; the subject is the text template's `subject`."""
    env = environment()
    text_template = env.get_template(f"emails/{template}.txt")
    module = text_template.make_module(context)
    subject = one_line(str(getattr(module, "subject", "")))
    if not subject:
        raise ValueError(f"template emails/{template}.txt sets no subject")
    text = str(module)
    html = env.get_template(f"emails/{template}.html").render(subject=subject, **context)
    return Composed(template=template, subject=subject, text=text, html=html)
