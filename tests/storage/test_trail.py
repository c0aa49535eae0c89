"""The audit trail: every change recorded with who, when and what, and the database refusing to rewrite it."""
import json
from datetime import UTC, date, datetime

import pytest
from conftest import PLANTED, QA_MANAGER
from forms import valid_form
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import Audit, Staff, Submission, TrailEntry
from auditcycle.models.enums import AuditStatus, Role, TrailAction
from auditcycle.sampling.cycle import draw
from auditcycle.storage.trail import acting_as
from auditcycle.submissions.submit import submit

APPEND_ONLY = "trail_entry is append-only: UPDATE and DELETE are refused"


def _trail(s, **where) -> list[TrailEntry]:
    query = select(TrailEntry).order_by(TrailEntry.id)
    for key, value in where.items():
        query = query.where(getattr(TrailEntry, key) == value)
    return list(s.scalars(query))


def _planted() -> list[str]:
    return [PLANTED["child_first"], PLANTED["child_last"], PLANTED["contact_name"], PLANTED["phone"],
            PLANTED["dob"], PLANTED["phone"].replace(" ", "")]


@pytest.mark.parametrize("statement", ["UPDATE trail_entry SET actor = 'someone else'", "DELETE FROM trail_entry"])
def test_trail_update_or_delete_is_refused_by_the_database(engine, statement) -> None:
    at = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(TrailEntry), [{"at": at, "actor": "S1", "action": TrailAction.UPDATE, "entity": "audit",
                                           "entity_id": "1", "changes": {"values": {"status": ["a", "b"]}}}])

    with pytest.raises(DatabaseError) as refused, engine.begin() as conn:
        conn.execute(text(statement))

    assert APPEND_ONLY in str(refused.value)
    with engine.connect() as conn:
        rows = conn.execute(select(TrailEntry.actor, TrailEntry.entity_id).where(TrailEntry.entity == "audit")).all()
    assert rows == [("S1", "1")]


def test_submit_records_who_when_and_what_without_personal_values(s, settings) -> None:
    ctx = build_context("2026-11-23T09:00", settings=settings)
    draw(s, ctx, month=Month(2026, 12), size=3, seed=2)
    s.commit()
    audit = s.scalars(select(Audit).order_by(Audit.id)).first()
    before = s.scalar(select(func.max(TrailEntry.id)))
    start = datetime.now(UTC)

    with acting_as(audit.auditor_id):
        submit(s, build_context("2026-12-14T10:00", settings=settings), reference=audit.reference,
               data=valid_form(audit.auditor_id, today=date(2026, 12, 14)), by=audit.auditor_id)
        s.commit()

    entries = [e for e in _trail(s) if e.id > before]
    submission = s.scalars(select(Submission).where(Submission.audit_id == audit.id)).one()
    [inserted] = [e for e in entries if e.entity == "submission" and e.action == TrailAction.INSERT]
    texts = [e for e in entries if e.entity == "submission" and e.action == TrailAction.UPDATE]
    [status_change] = [e for e in entries if e.entity == "audit" and e.action == TrailAction.UPDATE]
    assert {e.actor for e in entries} == {audit.auditor_id}
    assert all(start <= e.at <= datetime.now(UTC) for e in entries)
    assert (inserted.action, inserted.entity_id) == (TrailAction.INSERT, str(submission.id))
    assert inserted.changes["values"]["overall"] == "requires_improvement"
    assert {"strengths", "practitioner_feedback"} <= {f for e in [inserted, *texts] for f in e.changes["withheld"]}
    assert "Clear, warm recording" not in json.dumps([e.changes for e in entries])
    assert status_change.entity_id == str(audit.id)
    assert status_change.changes["values"]["status"] == ["allocated", "submitted"]
    assert {"domain_grade", "family_feedback", "action"} <= {e.entity for e in entries}


def test_trail_of_a_seeded_authority_holds_no_planted_personal_data(s) -> None:
    dump = "\n".join(json.dumps([e.actor, e.entity, e.entity_id, e.changes]) for e in _trail(s))

    # The seed's bulk inserts and the fixture's planting updates are both in the trail...
    assert {"child", "family_contact"} <= {e.entity for e in _trail(s)}
    assert "first_name" in dump and "phone" in dump
    # ...by field name only.
    for value in _planted():
        assert value not in dump


def test_withdraw_through_the_cli_is_credited_to_the_staff_member(authority, app_env, prefect_harness) -> None:
    runner = CliRunner()
    drawn = runner.invoke(app, ["run", "sample", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T09:00", "--seed", "4"])
    assert drawn.exit_code == 0, drawn.output
    with sessionmaker(bind=authority)() as s:
        qa = s.scalars(select(Staff.id).where(Staff.role == Role.QA_MANAGER).order_by(Staff.id)).first()
        audit = s.scalars(select(Audit).order_by(Audit.id)).first()

    result = runner.invoke(app, ["withdraw", audit.reference, "--by", qa, "--reason", "Moved out of area",
                                 "--now", "2026-11-26T09:00"])

    assert result.exit_code == 0, result.output
    with sessionmaker(bind=authority)() as s:
        assert s.get(Audit, audit.id).status == AuditStatus.WITHDRAWN
        [created] = _trail(s, entity="audit", entity_id=str(audit.id), action=TrailAction.INSERT)
        [withdrawn] = _trail(s, entity="audit", entity_id=str(audit.id), action=TrailAction.UPDATE)
    assert created.actor == QA_MANAGER  # who ran the sample, with the account and host it came from
    assert created.os_account and created.host
    assert withdrawn.actor == qa
    assert withdrawn.changes["values"]["status"] == ["allocated", "withdrawn"]
    assert withdrawn.changes["withheld"] == ["status_reason"]


def test_a_transactions_trail_goes_in_one_statement_at_commit_and_is_dropped_with_a_rollback(s, authority) -> None:
    """Three flushes write three trail rows in one INSERT at commit; a rolled-back change leaves none."""
    from sqlalchemy import event

    staff = list(s.scalars(select(Staff).order_by(Staff.id).limit(3)))
    before = s.scalar(select(func.max(TrailEntry.id)))
    inserts: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TRAIL_ENTRY"):
            inserts.append(statement)

    event.listen(authority, "before_cursor_execute", count)
    try:
        with acting_as("QA1"):
            for member in staff:
                member.newly_qualified = not member.newly_qualified
                s.flush()
            assert inserts == []  # held until the commit
            s.commit()
        assert len(inserts) == 1
        member = staff[0]
        member.active = not member.active
        s.flush()
        s.rollback()
    finally:
        event.remove(authority, "before_cursor_execute", count)

    entries = [e for e in _trail(s) if e.id > before]
    assert [(e.actor, e.entity, e.entity_id, e.action) for e in entries] == [
        ("QA1", "staff", m.id, TrailAction.UPDATE) for m in staff]
    assert all(list(e.changes["values"]) == ["newly_qualified"] for e in entries)


def test_a_large_transaction_writes_its_held_trail_in_batches_and_a_rollback_still_drops_it(
        s, authority, monkeypatch) -> None:
    """Past HELD_MAX held rows the trail is written at once (a 500,000-row import holds none of it in memory),
    in the transaction, so every row is still recorded once at commit and none after a rollback."""
    from sqlalchemy import event

    from auditcycle.storage import trail

    monkeypatch.setattr(trail, "HELD_MAX", 2)
    staff = list(s.scalars(select(Staff).order_by(Staff.id).limit(5)))
    before = s.scalar(select(func.max(TrailEntry.id)))
    inserts: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TRAIL_ENTRY"):
            inserts.append(statement)

    event.listen(authority, "before_cursor_execute", count)
    try:
        with acting_as("QA1"):
            for member in staff:
                member.newly_qualified = not member.newly_qualified
                s.flush()
            assert len(inserts) == 2  # after the 2nd and the 4th row: the 5th is held for the commit
            s.commit()
            assert len(inserts) == 3
            for member in staff:
                member.active = not member.active
                s.flush()
            s.rollback()
    finally:
        event.remove(authority, "before_cursor_execute", count)

    entries = [e for e in _trail(s) if e.id > before]
    assert [(e.actor, e.entity_id, list(e.changes["values"])) for e in entries] == [
        ("QA1", m.id, ["newly_qualified"]) for m in staff]
