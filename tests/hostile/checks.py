"""What "handled" means, checked on real outputs: the CLI's exit and message, and the database's rows."""
import hashlib
from collections.abc import Sequence
from email import message_from_bytes, policy

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.models import Base

runner = CliRunner()


def invoke(*args: str):
    """Run the real CLI in-process."""
    return runner.invoke(app, list(args))


def fingerprint(engine: Engine) -> dict[str, str]:
    """Return a checksum of every row of every table, so any write at all shows."""
    result = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            digest = hashlib.sha256()
            rows = conn.execute(select(table).order_by(*table.primary_key.columns))
            for row in rows:
                digest.update(repr(tuple(row)).encode())
            result[table.name] = digest.hexdigest()
    return result


def assert_refused(result, engine: Engine, before: dict[str, str], says: Sequence[str]) -> None:
    """A clean refusal: non-zero exit, no traceback, an error naming what is wrong, and nothing written."""
    assert isinstance(result.exception, SystemExit), f"not a clean exit: {result.exception!r}"
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.output.startswith("error: "), result.output[:500]
    # A huge input must not come back as a huge message.
    assert len(result.output) < 20_000, f"error message of {len(result.output):,} characters"
    for fragment in says:
        assert fragment in result.output, f"{fragment!r} not in {result.output[:1000]!r}"
    assert fingerprint(engine) == before, "a refused input changed the database"


def assert_ok(result) -> None:
    """A clean success."""
    assert result.exception is None, f"{result.exception!r}\n{result.output[:2000]}"
    assert result.exit_code == 0, result.output[:2000]


ALLOWED_HEADERS = {"from", "to", "subject", "date", "message-id", "auto-submitted", "importance", "x-priority",
                   "mime-version", "content-type", "content-transfer-encoding"}


def assert_safe_mail(raw: bytes, planted: Sequence[str] = ()) -> None:
    """A received message carries only our headers, one recipient, and no live markup from the input."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = [line.split(":", 1)[0].lower() for line in head.split("\r\n") if line and not line[0].isspace()]
    assert set(names) <= ALLOWED_HEADERS, f"unexpected header(s): {set(names) - ALLOWED_HEADERS}"
    assert names.count("to") == 1 and names.count("subject") == 1 and "bcc" not in names and "cc" not in names
    message = message_from_bytes(raw, policy=policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_content()
            assert "<script" not in html.lower(), "unescaped <script> in an HTML part"
        if part.get_content_type() == "text/calendar":
            calendar = part.get_content()
            assert "victim@example.com" not in calendar
    for text in planted:
        assert text not in raw.decode("utf-8", "replace")
