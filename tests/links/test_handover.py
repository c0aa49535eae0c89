"""People who leave or change role: a staff import withdraws their links and hands each act still waiting on them,
with a fresh link, to their line manager (else the QA managers), who are emailed once."""
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.context import build_context
from auditcycle.core.settings import Settings
from auditcycle.imports.caseload import import_staff
from auditcycle.imports.rows import CaseloadImportError
from auditcycle.links.tokens import LinkProblem, LinkProblemKind, issue_link, read_link, use_link
from auditcycle.models import Event, Link, OutboxMessage, Staff
from auditcycle.notifications.gateway import deliver

BASE = "https://audits.council.example"
NOW = "2026-12-01T10:00"
EARLIER = "2026-10-01T10:00"  # links sent then have expired by NOW (14 days, no deadline)
HEADER = "staff_id,name,email,role,team,service,manager_id,auditor,newly_qualified"
ROWS = {
    "S1": "S1,Alice Ames,alice@example.org,service_manager,,Children's Social Care,,yes,no",
    "S2": "S2,Bob Brown,bob@example.org,team_manager,Assessment 1,Children's Social Care,S1,yes,no",
    "S3": "S3,Cara Cole,cara@example.org,key_worker,Assessment 1,Children's Social Care,S2,no,no",
    "S4": "S4,Dan Dale,dan@example.org,key_worker,Assessment 1,Children's Social Care,,no,no",
    "S6": "S6,Eve Early,eve@example.org,key_worker,Assessment 1,Children's Social Care,S2,no,no",
    "S7": "S7,Quinn Quayle,quinn@example.org,qa_manager,,,,yes,no",
    "S8": "S8,Rosa Reed,rosa@example.org,qa_manager,,,,yes,no",
}
URL = re.compile(re.escape(f"{BASE}/act/") + r"(\S+)")


@pytest.fixture
def settings(smtp_server) -> Settings:
    """Settings whose mail goes to the loopback SMTP server and whose links name the council's site."""
    return Settings(database_url="sqlite://", base_url=BASE, smtp_host="127.0.0.1", smtp_port=smtp_server.port)


def _file(tmp_path: Path, *rows: str, name: str = "staff.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _import(session: Session, settings: Settings, path: Path, now: str = NOW, **options):
    ctx = build_context(now, settings=settings)
    summary = import_staff(session=session, path=path, now=ctx.now, ctx=ctx, **options)
    session.commit()
    return summary


@pytest.fixture
def staffed(session: Session, settings: Settings, tmp_path: Path) -> Session:
    """Every member of ROWS, imported before any link was sent."""
    _import(session, settings, _file(tmp_path, *ROWS.values(), name="base.csv"), now=EARLIER)
    return session


def _send(session: Session, settings: Settings, staff_id: str, subject_ref: str, *, now: str = NOW,
          purpose: str = "action-sign-off") -> str:
    """Send a link as an email would, before the import; return its token."""
    url = issue_link(session, build_context(now, settings=settings), purpose=purpose, subject_ref=subject_ref,
                     staff=session.get(Staff, staff_id))
    session.commit()
    return url.removeprefix(f"{BASE}/act/")


def _mail(session: Session, settings: Settings, smtp_server) -> dict[str, list[str]]:
    """Deliver the outbox over SMTP; return the plain text of each message received since, by recipient."""
    before = len(smtp_server.received)
    session.commit()  # SQLite: the gateway writes on its own connection
    deliver(engine=session.get_bind(), settings=settings)
    received: dict[str, list[str]] = {}
    for mail in smtp_server.received[before:]:
        [to] = mail.rcpt_tos
        body = mail.message.get_body(("plain",)).get_content()
        received.setdefault(to, []).append(f"Subject: {mail.message['Subject']}\n{body}")
    return received


def _tokens(text: str) -> list[str]:
    return URL.findall(text)


def _links(session: Session, staff_id: str) -> list[Link]:
    return list(session.scalars(select(Link).where(Link.staff_id == staff_id).order_by(Link.created_at, Link.subject_ref)
                                .execution_options(populate_existing=True)))


def test_a_leaver_s_waiting_acts_go_to_their_line_manager_in_one_email_with_working_links(
        staffed: Session, settings: Settings, smtp_server, tmp_path: Path) -> None:
    notice = _send(staffed, settings, "S3", "ACT-2026-12-001", now="2026-11-20T09:00")
    reminder = _send(staffed, settings, "S3", "ACT-2026-12-001")  # the same act, in a reminder
    _send(staffed, settings, "S3", "ACT-2026-12-002")
    done = _send(staffed, settings, "S3", "ACT-2026-12-003")
    use_link(staffed, build_context(NOW, settings=settings), read_link(staffed, build_context(NOW, settings=settings),
                                                                          done))
    staffed.commit()
    _send(staffed, settings, "S3", "ACT-2026-10-009", now=EARLIER)  # expired unused
    _send(staffed, settings, "S6", "ACT-2026-12-004", purpose="moderation-decision")
    _mail(staffed, settings, smtp_server)

    # Cara leaves (not in the complete file) and Eve changes role, both managed by Bob.
    rows = {**ROWS, "S6": ROWS["S6"].replace("key_worker", "team_manager")}
    del rows["S3"]
    summary = _import(staffed, settings, _file(tmp_path, *rows.values()), complete=True)
    received = _mail(staffed, settings, smtp_server)

    assert str(summary) == ("staff.csv: 0 created, 6 updated\n"
                            "  left (not in the file, so deactivated): S3\n"
                            "  changed role: S6\n"
                            "  3 acts waiting on them handed over, with fresh links, to their line manager or else "
                            "the QA managers")
    assert staffed.get(Staff, "S3").active is False
    assert [(link.subject_ref, link.revoked_reason, link.used_at is not None) for link in _links(staffed, "S3")] == [
        ("ACT-2026-10-009", "left the council", False),
        ("ACT-2026-12-001", "left the council", False),
        ("ACT-2026-12-001", "left the council", False),
        ("ACT-2026-12-002", "left the council", False),
        ("ACT-2026-12-003", None, True),
    ]
    assert [link.revoked_reason for link in _links(staffed, "S6")] == ["changed role"]
    ctx = build_context(NOW, settings=settings)
    for old in (notice, reminder):
        with pytest.raises(LinkProblem) as refused:
            read_link(staffed, ctx, old)
        assert refused.value.kind == LinkProblemKind.REVOKED and "(left the council)" in str(refused.value)

    assert sorted(received) == ["bob@example.org", "quinn@example.org", "rosa@example.org"]
    [to_bob] = received["bob@example.org"]
    assert to_bob.startswith("Subject: 3 acts handed over to you from staff who left or changed role\n")
    flat = " ".join(to_bob.split())
    assert "- sign off action ACT-2026-12-001, waiting on Cara Cole (left the council)" in flat
    assert "- sign off action ACT-2026-12-002, waiting on Cara Cole (left the council)" in flat
    assert "- moderation decision (ACT-2026-12-004), waiting on Eve Early (changed role)" in flat
    assert "ACT-2026-12-003" not in flat and "ACT-2026-10-009" not in flat
    assert "works until 10:00 on Tuesday 15 December 2026" in flat
    opened = [read_link(staffed, ctx, token) for token in _tokens(to_bob)]
    assert [(link.staff_id, link.purpose, link.subject_ref) for link in opened] == [
        ("S2", "action-sign-off", "ACT-2026-12-001"), ("S2", "action-sign-off", "ACT-2026-12-002"),
        ("S2", "moderation-decision", "ACT-2026-12-004")]
    use_link(staffed, ctx, opened[0])
    staffed.commit()
    assert staffed.get(Link, opened[0].id).used_by_id == "S2"

    for qa in ("quinn@example.org", "rosa@example.org"):
        [summary_mail] = received[qa]
        flat = " ".join(summary_mail.split())
        assert summary_mail.startswith("Subject: Acts handed over: 3 from staff who left or changed role\n")
        assert "- sign off action ACT-2026-12-001, waiting on Cara Cole (left the council), now with Bob Brown" in flat
        assert "- moderation decision (ACT-2026-12-004), waiting on Eve Early (changed role), now with Bob Brown" in flat
        assert _tokens(summary_mail) == []
    events = staffed.scalars(select(Event.detail).where(Event.kind == "act-handed-over").order_by(Event.subject_ref))
    assert list(events) == ["action-sign-off from S3 (left the council) to S2",
                            "action-sign-off from S3 (left the council) to S2",
                            "moderation-decision from S6 (changed role) to S2"]


def test_running_the_import_again_sends_nothing_more(staffed: Session, settings: Settings, smtp_server,
                                                     tmp_path: Path) -> None:
    _send(staffed, settings, "S3", "ACT-2026-12-001")
    rows = [row for staff_id, row in ROWS.items() if staff_id != "S3"]
    path = _file(tmp_path, *rows)
    _import(staffed, settings, path, complete=True)
    first = _mail(staffed, settings, smtp_server)
    links = staffed.scalar(select(func.count()).select_from(Link))
    queued = staffed.scalar(select(func.count()).select_from(OutboxMessage))

    again = _import(staffed, settings, path, now="2026-12-01T11:00", complete=True)

    assert sorted(first) == ["bob@example.org", "quinn@example.org", "rosa@example.org"]
    assert (again.left, again.changed_role, again.handed_over) == ((), (), 0)
    assert _mail(staffed, settings, smtp_server) == {}
    assert staffed.scalar(select(func.count()).select_from(Link)) == links
    assert staffed.scalar(select(func.count()).select_from(OutboxMessage)) == queued


def test_a_role_change_in_a_partial_file_hands_over_and_leaves_the_rest_alone(
        staffed: Session, settings: Settings, smtp_server, tmp_path: Path) -> None:
    _send(staffed, settings, "S3", "ACT-2026-12-001")
    kept = _send(staffed, settings, "S4", "ACT-2026-12-002")
    promoted = ROWS["S3"].replace("key_worker", "team_manager")

    summary = _import(staffed, settings, _file(tmp_path, promoted))
    received = _mail(staffed, settings, smtp_server)

    assert (summary.left, summary.changed_role, summary.handed_over) == ((), ("S3",), 1)
    assert staffed.get(Staff, "S3").active is True
    assert [link.revoked_reason for link in _links(staffed, "S3")] == ["changed role"]
    assert read_link(staffed, build_context(NOW, settings=settings), kept).staff_id == "S4"
    [to_bob] = received["bob@example.org"]
    assert to_bob.startswith("Subject: 1 act handed over to you from staff who left or changed role\n")
    assert "sign off action ACT-2026-12-001, waiting on Cara Cole (changed role)" in " ".join(to_bob.split())
    [token] = _tokens(to_bob)
    assert read_link(staffed, build_context(NOW, settings=settings), token).staff_id == "S2"


@pytest.mark.parametrize("case", ["no-manager", "manager-leaves-too"])
def test_with_no_line_manager_active_the_qa_managers_each_get_the_act(
        staffed: Session, settings: Settings, smtp_server, tmp_path: Path, case: str) -> None:
    leaver = {"no-manager": "S4", "manager-leaves-too": "S3"}[case]
    # Bob leaves with Cara, and Eve, whom he also manages, with them: nobody else manages her.
    gone = {leaver} | ({"S2", "S6"} if case == "manager-leaves-too" else set())
    _send(staffed, settings, leaver, "ACT-2026-12-001")

    _import(staffed, settings, _file(tmp_path, *(r for s, r in ROWS.items() if s not in gone)), complete=True)
    received = _mail(staffed, settings, smtp_server)

    assert sorted(received) == ["quinn@example.org", "rosa@example.org"]
    ctx = build_context(NOW, settings=settings)
    for qa, staff_id, other in (("quinn@example.org", "S7", "Rosa Reed"), ("rosa@example.org", "S8", "Quinn Quayle")):
        [mail] = received[qa]
        assert mail.startswith("Subject: 1 act handed over to you from staff who left or changed role\n")
        assert f"(left the council), also sent to {other};" in mail
        assert "Handed over to others" not in mail
        [token] = _tokens(mail)
        assert read_link(staffed, ctx, token).staff_id == staff_id


def test_a_leaver_s_own_questionnaire_is_withdrawn_and_handed_to_nobody(
        staffed: Session, settings: Settings, smtp_server, tmp_path: Path) -> None:
    _send(staffed, settings, "S3", "A-2026-12-001", purpose="questionnaire")
    _send(staffed, settings, "S3", "ACT-2026-12-002")

    summary = _import(staffed, settings, _file(tmp_path, *(r for s, r in ROWS.items() if s != "S3")), complete=True)
    received = _mail(staffed, settings, smtp_server)

    assert summary.handed_over == 1
    assert [(link.purpose, link.revoked_reason) for link in _links(staffed, "S3")] == [
        ("questionnaire", "left the council"), ("action-sign-off", "left the council")]
    [to_bob] = received["bob@example.org"]
    assert "questionnaire" not in to_bob and "ACT-2026-12-002" in to_bob
    assert staffed.scalar(select(func.count()).select_from(Link).where(Link.purpose == "questionnaire")) == 1


def test_a_refused_import_hands_nothing_over(staffed: Session, settings: Settings, smtp_server,
                                             tmp_path: Path) -> None:
    token = _send(staffed, settings, "S3", "ACT-2026-12-001")
    rows = [row for staff_id, row in ROWS.items() if staff_id != "S3"] + ["S9,Hal Hart,hal@,key_worker,,,,no,no"]

    with pytest.raises(CaseloadImportError):
        _import(staffed, settings, _file(tmp_path, *rows), complete=True)
    staffed.rollback()

    assert staffed.get(Staff, "S3").active is True
    assert read_link(staffed, build_context(NOW, settings=settings), token).staff_id == "S3"
    assert staffed.scalar(select(func.count()).select_from(Link)) == 1
    assert staffed.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert _mail(staffed, settings, smtp_server) == {}


def test_the_fresh_link_lasts_at_least_as_long_as_the_one_withdrawn(staffed: Session, settings: Settings,
                                                                   tmp_path: Path) -> None:
    ctx = build_context(NOW, settings=settings)
    issue_link(staffed, ctx, purpose="action-sign-off", subject_ref="ACT-2026-12-001",
               staff=staffed.get(Staff, "S3"), deadline=ctx.now.date() + timedelta(days=40))
    staffed.commit()
    [old] = _links(staffed, "S3")

    _import(staffed, settings, _file(tmp_path, ROWS["S3"].replace("key_worker", "iro").replace(
        "Assessment 1,Children's Social Care", ",")))

    [fresh] = _links(staffed, "S2")
    assert fresh.expires_at == old.expires_at > ctx.now + timedelta(days=14)


def test_the_import_command_hands_over_and_mails_the_line_manager(smtp_env, engine, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
    from auditcycle.core.settings import get_settings

    runner = CliRunner()
    _file(tmp_path, *ROWS.values(), name="base.csv")
    _file(tmp_path, *(row for staff_id, row in ROWS.items() if staff_id != "S3"))
    assert runner.invoke(app, ["import", "staff", "base.csv", "--now", EARLIER]).exit_code == 0
    with Session(engine) as session:
        _send(session, get_settings(), "S3", "ACT-2026-12-001")

    result = runner.invoke(app, ["import", "staff", "staff.csv", "--complete", "--now", NOW])

    assert (result.exit_code, result.stdout) == (0, (
        "staff.csv: 0 created, 6 updated\n"
        "  left (not in the file, so deactivated): S3\n"
        "  1 act waiting on them handed over, with fresh links, to their line manager or else the QA managers\n"))
    assert sorted(r.rcpt_tos[0] for r in smtp_env.received) == [
        "bob@example.org", "quinn@example.org", "rosa@example.org"]
