"""`auditcycle init`: create or upgrade the database."""
from sqlalchemy.engine import make_url

from auditcycle.cli import NowOption, app, console, guarded
from auditcycle.core.context import build_context
from auditcycle.core.settings import get_settings
from auditcycle.storage.db import upgrade


@app.command("init")
@guarded
def init_command(now: NowOption = None) -> None:
    """Create or upgrade the database schema to the newest migration."""
    build_context(now)
    upgrade()
    console.print(f"Database ready at {_safe_url(get_settings().database_url)}.")


def _safe_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    return make_url(url).render_as_string(hide_password=True)

