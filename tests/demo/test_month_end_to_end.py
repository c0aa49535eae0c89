"""A whole audit month, through the CLI and the Prefect engine, with a real SMTP server and --now moving on.

It carries the December 2026 cycle from the draw to finalised grades, and on the way hits invalid
forms of each kind, late auditors and the QA manager's copy, a dispute, a moderation that changes a
grade, a late good form added by a re-run, an Immediate Response answered the same day and one that
escalates. At the end every message has arrived exactly once.
"""
import json
from collections import Counter
from datetime import date
from pathlib import Path

from conftest import PLANTED, QA_MANAGER
from forms import valid_form
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.models import Audit, GradeChange, ImmediateResponse, Moderation, OutboxMessage, Staff, Submission
from auditcycle.models.enums import AuditStatus, MessageStatus, ModerationStatus, ResponseStatus, Role

runner = CliRunner()
MONTH = "2026-12"
# The test's own session reads between commands; it must not hold SQLite's write lock while one runs.
OPEN_SESSIONS: list = []


def _release() -> None:
    for session in OPEN_SESSIONS:
        session.commit()


def cli(*args: str) -> str:
    _release()
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output


def cli_fails(*args: str) -> str:
    _release()
    result = runner.invoke(app, list(args))
    assert result.exit_code != 0, f"{args} should have failed: {result.output}"
    return result.output


def run(phase: str, now: str) -> None:
    cli("run", phase, "--by", QA_MANAGER, "--month", MONTH, "--now", now)


def form_file(folder: Path, name: str, form: dict) -> str:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(form))
    return str(path)


def test_a_month_from_draw_to_final_grades(authority, smtp_env, prefect_harness, tmp_path) -> None:
    db = sessionmaker(bind=authority, expire_on_commit=False)()
    OPEN_SESSIONS[:] = [db]
    staff = lambda role: db.scalars(select(Staff).where(Staff.role == role).order_by(Staff.id)).all()  # noqa: E731
    qa_managers = {s.email for s in staff(Role.QA_MANAGER)}

    # --- The last week of November: draw, notices, bookings.
    cli("run", "sample", "--by", QA_MANAGER, "--month", MONTH, "--now", "2026-11-23T09:00", "--size", "6", "--seed", "5")
    run("notify", "2026-11-24T12:00")
    run("book", "2026-11-25T09:00")
    audits = db.scalars(select(Audit).order_by(Audit.id)).all()
    assert len(audits) == 6
    late, disputed, good, changed, *rest = audits

    # --- Mid-audit Immediate Responses: one answered the same day, one left to escalate.
    cli("raise-ir", good.reference, "--by", good.auditor_id, "--reason", "Bruising seen at contact",
        "--now", "2026-12-09T10:00")
    answered = db.scalar(select(ImmediateResponse).where(ImmediateResponse.audit_id == good.id))
    manager = next(s for s in staff(Role.SERVICE_MANAGER) if s.service_id == good.child.team.service_id)
    cli("respond", answered.reference, "--by", manager.id, "--note", "Strategy discussion held",
        "--now", "2026-12-09T15:00")
    cli("raise-ir", changed.reference, "--by", changed.auditor_id, "--reason", "No plan for a missing child",
        "--now", "2026-12-10T14:00")
    run("responses", "2026-12-11T09:00")   # 5 hours before: nothing yet
    run("responses", "2026-12-11T10:30")   # within 4 hours: the reminder
    run("responses", "2026-12-11T11:30")   # already reminded
    run("responses", "2026-12-11T14:05")   # past the deadline: escalated
    run("responses", "2026-12-11T15:05")   # already escalated

    # --- Invalid forms of each kind are refused, and nothing is stored.
    today = date(2026, 12, 14)
    base = valid_form(disputed.auditor_id, today=today)
    invalid = {
        "missing-domain": {**base, "grades": {k: v for k, v in base["grades"].items() if k != "assessment"}},
        "bad-grade": {**base, "overall": "brilliant"},
        "late-action": {**base, "actions": [{**base["actions"][0], "due": "2027-02-01"}]},
        "past-action": {**base, "actions": [{**base["actions"][0], "due": "2026-12-01"}]},
        "unknown-owner": {**base, "actions": [{**base["actions"][0], "owner_id": "NOBODY"}]},
        "too-long": {**base, "strengths": "x" * 20_000},
    }
    for name, form in invalid.items():
        out = cli_fails("submit", disputed.reference, form_file(tmp_path, name, form), "--by", disputed.auditor_id,
                        "--now", "2026-12-14T10:00")
        assert "nothing stored" in out, name
    assert db.scalar(select(func.count()).select_from(Submission)) == 0

    # --- Forms arrive; one auditor is late.
    for audit, overall in [(disputed, "requires_improvement"), (changed, "requires_improvement"),
                           *[(a, "requires_improvement") for a in rest]]:
        form = valid_form(audit.auditor_id, today=today, overall=overall)
        cli("submit", audit.reference, form_file(tmp_path, audit.reference, form), "--by", audit.auditor_id,
            "--now", "2026-12-14T10:00")
    good_form = valid_form(good.auditor_id, today=today, overall="good")
    cli("submit", good.reference, form_file(tmp_path, "good", good_form), "--by", good.auditor_id,
        "--now", "2026-12-14T11:00")
    cli("dispute", disputed.reference, "--by", disputed.child.key_worker_id, "--note", "Misses the direct work",
        "--now", "2026-12-16T10:00")

    # --- Chasing the late auditor: 5 and 1 working days before, then overdue; QA copied from day 3.
    for now in ["2026-12-22T08:00", "2026-12-22T08:30", "2026-12-30T08:00", "2027-01-04T08:00",
                "2027-01-06T08:00", "2027-01-06T09:00"]:
        run("chase", now)

    # --- Moderation after the due date; the late good form is added by a re-run.
    run("moderate", "2027-01-04T09:00")
    late_form = valid_form(late.auditor_id, today=date(2027, 1, 7), overall="good")
    cli("submit", late.reference, form_file(tmp_path, "late", late_form), "--by", late.auditor_id,
        "--now", "2027-01-07T10:00")
    run("moderate", "2027-01-07T11:00")
    run("moderate", "2027-01-07T12:00")
    selected = {m.audit_id: m for m in db.scalars(select(Moderation))}
    assert {good.id, disputed.id, late.id} <= set(selected)

    psw = staff(Role.PRINCIPAL_SOCIAL_WORKER)[0]
    cli("moderate", disputed.reference, "--grade", "good", "--domain", "assessment=outstanding",
        "--by", psw.id, "--note", "Direct work evidenced in the record", "--now", "2027-01-11T10:00")
    for audit_id in selected:
        audit = db.get(Audit, audit_id)
        db.refresh(audit)
        if audit.status == AuditStatus.IN_MODERATION:
            overall = db.scalar(select(Submission.overall).where(Submission.audit_id == audit_id))
            cli("moderate", audit.reference, "--grade", overall, "--by", psw.id, "--note", "Agreed",
                "--now", "2027-01-12T10:00")
    # A good or better grade is final once an assistant director agrees the panel's decision.
    director = staff(Role.ASSISTANT_DIRECTOR)[0]
    for audit_id in selected:
        audit = db.get(Audit, audit_id)
        db.refresh(audit)
        if audit.status == AuditStatus.IN_MODERATION:
            cli("agree-moderation", audit.reference, "--by", director.id, "--now", "2027-01-13T10:00")
    run("moderate", "2027-01-18T09:00")  # after closure: the rest become final as submitted
    cli("export", "case-notes", "--month", MONTH, "--now", "2027-01-18T10:00")
    cli("run", "report", "--by", QA_MANAGER, "--month", MONTH, "--now", "2027-01-18T11:00")
    cli("run", "report", "--by", QA_MANAGER, "--month", MONTH, "--now", "2027-01-18T12:00")  # rewrites the files, mails nobody

    # --- Everything final, with the history of every change.
    db.expire_all()
    assert {a.status for a in db.scalars(select(Audit))} == {AuditStatus.COMPLETED}
    moved = db.scalars(select(GradeChange).where(GradeChange.audit_id == disputed.id,
                                                 GradeChange.reason == "moderation")).all()
    assert {(c.domain, c.old_grade, c.new_grade, c.changed_by_id) for c in moved} == {
        ("overall", "requires_improvement", "good", psw.id), ("assessment", "good", "outstanding", psw.id)}
    assert db.scalar(select(Moderation.status).where(Moderation.audit_id == disputed.id)) == ModerationStatus.CHANGED
    responses = {r.audit_id: r for r in db.scalars(select(ImmediateResponse))}
    assert responses[good.id].same_day is True and responses[good.id].status == ResponseStatus.RESPONDED
    assert responses[changed.id].escalated_at is not None
    notes = sorted(p.name for p in (Path("reports") / MONTH / "case-notes").glob("*.txt"))
    assert notes == sorted({f"{a.child_id}.txt" for a in audits})

    # --- The report: written, final (moderation closed), free of planted names, mailed once.
    folder = Path("reports") / MONTH
    report_html = (folder / "report.html").read_text()
    assert "December 2026" in report_html and "<strong>PROVISIONAL</strong>" not in report_html
    text = report_html + (folder / "report-restricted.html").read_text() + (folder / "grades.csv").read_text(
        encoding="utf-8-sig") + (folder / "actions.csv").read_text(encoding="utf-8-sig")
    text += "".join(p.read_text() for p in (folder / "case-notes").glob("*.txt"))
    pdf_text = "".join(page.extract_text() for page in PdfReader(folder / "report.pdf").pages)
    assert "December 2026" in pdf_text
    for value in (PLANTED["child_first"], PLANTED["child_last"], PLANTED["contact_name"], PLANTED["phone"]):
        assert value not in text and value not in pdf_text
    report_mail = [r for r in smtp_env.received if r.message["Subject"].startswith("Quality Assurance report")]
    assert report_mail and len(report_mail) == len({r.rcpt_tos[0] for r in report_mail})
    attachment = next(report_mail[0].message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"

    # --- Every message arrived once, to the right people.
    received = smtp_env.received
    sent = db.scalars(select(OutboxMessage)).all()
    assert {m.status for m in sent} == {MessageStatus.SENT}
    assert len(received) == len(sent)
    assert len({r.message["Message-ID"] for r in received}) == len(received)
    assert all(len(r.rcpt_tos) == 1 for r in received)
    late_mail = Counter((r.rcpt_tos[0], r.message["Subject"]) for r in received if late.reference in
                        r.message["Subject"] and "overdue" in r.message["Subject"].lower())
    assert max(late_mail.values()) == 1
    qa_copies = [r for r in received if r.rcpt_tos[0] in qa_managers and late.reference in r.message["Subject"]
                 and "overdue" in r.message["Subject"].lower()]
    assert qa_copies and all(r.message["Date"] for r in qa_copies)
    escalations = [r for r in received if r.message["Subject"].startswith("ESCALATED")]
    directors = {s.email for s in staff(Role.ASSISTANT_DIRECTOR)}
    assert directors <= {r.rcpt_tos[0] for r in escalations}
    assert len(escalations) == len({r.rcpt_tos[0] for r in escalations})
    reminders = [r for r in received if r.message["Subject"].startswith("Reminder: Immediate Response")]
    assert len(reminders) == len({r.rcpt_tos[0] for r in reminders}) >= 1
    db.close()
