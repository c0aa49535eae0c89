"""Retention: children's personal fields erased a configured number of years after their last audit."""
import json
from datetime import date

import pytest
from conftest import PLANTED, QA_MANAGER
from forms import valid_form
from sqlalchemy import func, select
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import (
    Audit,
    Child,
    DomainGrade,
    FamilyContact,
    Nomination,
    PhaseRun,
    Staff,
    Submission,
    TrailEntry,
)
from auditcycle.models.enums import PhaseRunStatus, Role, TrailAction
from auditcycle.privacy.retention import cutoff_date, purge_expired
from auditcycle.sampling.cycle import draw
from auditcycle.sampling.nominations import nominate
from auditcycle.storage.trail import acting_as
from auditcycle.submissions.submit import submit

# The December 2026 cycle is due on 31 December 2026; with two years' retention its children expire
# on the first day after 31 December 2028.
BEFORE_EXPIRY = "2028-12-31T09:00"
AFTER_EXPIRY = "2029-01-02T09:00"


def _audited(s, settings) -> list[str]:
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=Month(2026, 12), size=4, seed=2)
    s.commit()
    audit = s.scalars(select(Audit).order_by(Audit.id)).first()
    child = s.get(Child, audit.child_id)
    contact = child.contacts[0] if child.contacts else None
    typed = (f"Spoke with {PLANTED['child_first']} and {contact.name if contact else PLANTED['contact_name']} "
             f"on {PLANTED['phone']}; born {PLANTED['dob']}.")
    with acting_as(audit.auditor_id):
        submit(s, build_context("2026-12-14T10:00", settings=settings), reference=audit.reference,
               data=valid_form(audit.auditor_id, today=date(2026, 12, 14), strengths=typed), by=audit.auditor_id)
        s.commit()
    audited = sorted(set(s.scalars(select(Audit.child_id))))
    s.commit()  # SQLite: release the write lock before another connection writes
    return audited


def _personal(s, child_ids) -> list[tuple]:
    s.expire_all()
    rows = [(c.id, c.first_name, c.last_name, c.date_of_birth, len(c.contacts))
            for c in s.scalars(select(Child).where(Child.id.in_(child_ids)).order_by(Child.id))]
    s.commit()
    return rows


def test_cutoff_of_a_leap_day_is_the_28th_of_february() -> None:
    assert cutoff_date(date(2028, 2, 29), 2) == date(2026, 2, 28)
    assert cutoff_date(date(2029, 1, 2), 2) == date(2027, 1, 2)


def test_purge_erases_personal_fields_once_and_keeps_the_audit_history(s, settings) -> None:
    audited = _audited(s, settings)
    others = list(s.scalars(select(Child.id).where(Child.id.not_in(audited))))
    contacts = s.scalar(select(func.count()).select_from(FamilyContact).where(FamilyContact.child_id.in_(audited)))
    untouched_before = _personal(s, others)
    history = (s.scalar(select(func.count()).select_from(Audit)), s.scalar(select(func.count()).select_from(DomainGrade)))
    births = {c.id: c.date_of_birth for c in s.scalars(select(Child).where(Child.id.in_(audited)))}

    too_soon = purge_expired(s, now=build_context(BEFORE_EXPIRY, settings=settings).now, years=2)
    dry = purge_expired(s, now=build_context(AFTER_EXPIRY, settings=settings).now, years=2, dry_run=True)
    s.commit()
    unchanged_by_dry_run = _personal(s, audited)
    trail_before = s.scalar(select(func.max(TrailEntry.id)))
    with acting_as("phase:retention"):
        done = purge_expired(s, now=build_context(AFTER_EXPIRY, settings=settings).now, years=2)
        s.commit()
        again = purge_expired(s, now=build_context(AFTER_EXPIRY, settings=settings).now, years=2)
        s.commit()

    print(f"retention: before expiry {too_soon}; dry run {dry}; purge {done}; again {again}; "
          f"{len(others)} never-audited children untouched")
    assert (too_soon.children, too_soon.contacts) == (0, 0)
    assert (dry.children, dry.contacts, dry.dry_run) == (len(audited), contacts, True)
    assert all(first == PLANTED["child_first"] for _, first, *_ in unchanged_by_dry_run)
    assert (done.children, done.contacts, done.texts_redacted) == (len(audited), contacts, 1)
    assert (again.children, again.contacts, again.texts_redacted) == (0, 0, 0)
    assert _personal(s, audited) == [(cid, "", "", date(births[cid].year, 1, 1), 0) for cid in audited]
    assert _personal(s, others) == untouched_before
    assert (s.scalar(select(func.count()).select_from(Audit)),
            s.scalar(select(func.count()).select_from(DomainGrade))) == history
    strengths = s.scalars(select(Submission.strengths)).one()
    for value in (PLANTED["child_first"], PLANTED["contact_name"], PLANTED["phone"], PLANTED["dob"]):
        assert value not in strengths
    entries = list(s.scalars(select(TrailEntry).where(TrailEntry.id > trail_before)))
    erased = [e for e in entries if e.entity == "child"]
    assert {e.actor for e in entries} == {"phase:retention"}
    assert sorted(e.entity_id for e in erased) == audited
    assert {tuple(e.changes["withheld"]) for e in erased} == {("first_name", "last_name", "date_of_birth")}
    assert sum(e.entity == "family_contact" and e.action == TrailAction.DELETE for e in entries) == contacts
    dump = json.dumps([e.changes for e in entries])
    assert PLANTED["child_first"] not in dump and PLANTED["contact_name"] not in dump


def test_purge_scrubs_the_reason_a_record_was_nominated_as_good_practice(s, settings) -> None:
    child = s.scalars(select(Child).where(Child.key_worker_id.is_not(None)).order_by(Child.id)).first()
    manager = s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER,
                                            Staff.service_id == child.team.service_id)).first()
    nominate(s, build_context("2026-11-20T09:00", settings=settings), child_id=child.id, by=manager.id,
             month=Month(2026, 12), reason=f"{PLANTED['child_first']} led the writing of the plan.")
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=Month(2026, 12), size=4, seed=2)
    s.commit()

    done = purge_expired(s, now=build_context(AFTER_EXPIRY, settings=settings).now, years=2)
    s.commit()

    reason = s.scalars(select(Nomination.reason)).one()
    assert done.texts_redacted == 1
    assert PLANTED["child_first"] not in reason and reason.endswith("led the writing of the plan.")


def test_dry_run_from_the_cli_prints_counts_and_no_names(authority, app_env, s, settings) -> None:
    audited = _audited(s, settings)

    result = CliRunner().invoke(app, ["retention", "--dry-run", "--by", QA_MANAGER, "--now", AFTER_EXPIRY])

    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["children"], printed["dry_run"], printed["retention_years"]) == (len(audited), True, 2)
    assert PLANTED["child_first"] not in result.output and PLANTED["child_last"] not in result.output
    assert all(first == PLANTED["child_first"] for _, first, *_ in _personal(s, audited))


@pytest.mark.usefixtures("prefect_harness")
def test_retention_phase_through_prefect_purges_once_and_records_its_runs(authority, app_env, s, settings) -> None:
    from auditcycle.flows.retention import retention

    audited = _audited(s, settings)

    first = retention(now=AFTER_EXPIRY, by=QA_MANAGER)
    second = retention(now=AFTER_EXPIRY, by=QA_MANAGER)

    runs = list(s.scalars(select(PhaseRun).where(PhaseRun.phase == "retention").order_by(PhaseRun.id)))
    assert (first["children"], second["children"]) == (len(audited), 0)
    assert [r.status for r in runs] == [PhaseRunStatus.SUCCEEDED] * 2
    assert {first_name for _, first_name, *_ in _personal(s, audited)} == {""}
