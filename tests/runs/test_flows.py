"""The phases run through the real Prefect engine: exactly once, and with no personal data anywhere."""
from pathlib import Path

from conftest import PREFECT_HOME
from privacy_checks import _dump_sqlite, _planted_values, _run_month
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from auditcycle.models import Audit, Meeting, OutboxMessage, PhaseRun
from auditcycle.models.enums import PhaseRunStatus


def test_phases_twice_through_prefect_send_no_duplicates(authority, smtp_env, prefect_harness) -> None:
    first = _run_month(23)
    received = len(smtp_env.received)
    second = _run_month(24)

    factory = sessionmaker(bind=authority)
    with factory() as s:
        audits = s.scalar(select(func.count()).select_from(Audit))
        meetings = s.scalar(select(func.count()).select_from(Meeting))
        messages = s.scalar(select(func.count()).select_from(OutboxMessage))
        runs = list(s.scalars(select(PhaseRun).order_by(PhaseRun.id)))
    assert first[0]["created"] and not second[0]["created"]
    assert first[1]["queued"] > 0 and second[1]["queued"] == 0
    assert first[2]["booked"] == meetings > 0 and second[2]["booked"] == 0
    assert audits == first[0]["audits"]
    assert received == messages == len(smtp_env.received)
    keys = [(r.rcpt_tos[0], r.message["Subject"]) for r in smtp_env.received]
    assert len(keys) == len(set(keys))
    assert [r.phase for r in runs] == ["sample", "notify", "book"] * 2
    assert {r.status for r in runs} == {PhaseRunStatus.SUCCEEDED}
    assert all(r.flow_run_id for r in runs)


def test_no_personal_data_in_mail_invites_logs_or_prefect(authority, smtp_env, prefect_harness, capfd,
                                                         caplog, tmp_path) -> None:
    _run_month(23)
    output = capfd.readouterr()

    with sessionmaker(bind=authority)() as s:
        stored = "\n".join(
            f"{m.subject}\n{m.body_text}\n{m.body_html}\n{m.calendar or ''}"
            for m in s.scalars(select(OutboxMessage)))
        run_summaries = "\n".join(str(r.summary) for r in s.scalars(select(PhaseRun)))
    received = b"\n".join(r.data for r in smtp_env.received).decode("utf-8", "replace")
    decoded = "\n".join(part.get_content() for r in smtp_env.received for part in r.message.walk()
                        if part.get_content_maintype() == "text")
    prefect_db = _dump_sqlite(prefect_harness)
    prefect_files = "\n".join(p.read_text("utf-8", "replace") for p in PREFECT_HOME.rglob("*")
                              if p.is_file() and p.stat().st_size < 5_000_000 and p.suffix != ".db")
    logs = output.out + output.err + "\n".join(r.getMessage() for r in caplog.records)

    # The scans see real content (the flow runs and who started them); the theme stays in our database.
    assert smtp_env.received and "sample" in prefect_db and "Voice of the child" not in prefect_db
    for where, text in {"stored messages": stored, "received mail": received, "decoded mail": decoded,
                        "phase runs": run_summaries, "Prefect database": prefect_db,
                        "Prefect home": prefect_files, "logs": logs}.items():
        for value in _planted_values():
            assert value not in text, f"{value!r} found in {where}"


def test_outbox_folder_holds_eml_files_without_smtp(authority, app_env, prefect_harness) -> None:
    _run_month(23)

    files = list(Path("outbox").glob("*.eml"))
    with sessionmaker(bind=authority)() as s:
        messages = s.scalar(select(func.count()).select_from(OutboxMessage))
    assert len(files) == messages > 0
    text = "\n".join(f.read_text("utf-8", "replace") for f in files)
    for value in _planted_values():
        assert value not in text


def test_the_every_minute_sender_sends_what_a_page_queued_once(authority, smtp_env, prefect_harness) -> None:
    """The deliver deployment's flow, run twice through Prefect: a message a page queued arrives once."""
    from auditcycle.core.context import build_context
    from auditcycle.flows.deliver import deliver
    from auditcycle.models import Staff
    from auditcycle.notifications.message import Recipient
    from auditcycle.notifications.outbox import MessageKey, enqueue
    from auditcycle.notifications.render import render

    factory = sessionmaker(bind=authority)
    with factory.begin() as s:
        person = s.scalars(select(Staff).order_by(Staff.id)).first()
        address = person.email
        message = render("fresh_link", recipient_name=person.name, act="sign off action ACT-1", url="LINK",
                         expires_label="18:00 on Friday 11 December 2026")
        enqueue(s, build_context("2026-12-01T09:00"), MessageKey("web", "2026-12", "ACT-1", "fresh"),
                Recipient.of(person), message)

    first, second = deliver(), deliver()

    assert (first["sent"], second["sent"]) == (1, 0)
    assert [r.rcpt_tos for r in smtp_env.received] == [[address]]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(PhaseRun)) == 0  # a sender's minute is not a phase run
        assert s.scalar(select(OutboxMessage.status)).value == "sent"
