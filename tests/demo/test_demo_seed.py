"""The synthetic authority: deterministic, well-formed, refused on a full database, and via the CLI."""
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import auditcycle.cli.demo  # noqa: F401  (registers seed-demo, and a second command keeps the app a group)
from auditcycle.cli import app
from auditcycle.core.errors import UserError
from auditcycle.core.settings import FrameworkSettings
from auditcycle.core.timescales import Timescales
from auditcycle.demo.seed import AGES, DemoSummary, seed_authority
from auditcycle.models import BusyPeriod, Child, FamilyContact, Service, Staff, Team
from auditcycle.models.enums import Cohort, Role
from auditcycle.storage import db

LONDON = ZoneInfo("Europe/London")
# The eight weeks after this clock hold Good Friday, Easter Monday and the early May bank holiday.
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=LONDON)
TIMESCALES = Timescales(FrameworkSettings(), LONDON)
SMALL = 120

TEAM_COHORTS = {
    "Assessment North": {Cohort.CHILD_IN_NEED, Cohort.CHILD_PROTECTION},
    "Assessment South": {Cohort.CHILD_IN_NEED, Cohort.CHILD_PROTECTION},
    "Child Protection": {Cohort.CHILD_PROTECTION},
    "Children in Need": {Cohort.CHILD_IN_NEED},
    "Cared For North": {Cohort.CARED_FOR},
    "Cared For South": {Cohort.CARED_FOR},
    "Early Help Central": {Cohort.EARLY_HELP},
    "Targeted Family Support": {Cohort.EARLY_HELP},
    "Youth Justice": {Cohort.YOUTH_JUSTICE},
    "Care Experienced 16+": {Cohort.CARE_EXPERIENCED},
    "Leaving Care": {Cohort.CARE_EXPERIENCED},
}
MANAGERS = {Role.TEAM_MANAGER, Role.SERVICE_MANAGER, Role.ASSISTANT_DIRECTOR}


def run_seed(session: Session, children: int = SMALL, seed: int = 2026, **kwargs) -> DemoSummary:
    """Seed and commit, as the CLI's one transaction does."""
    summary = seed_authority(session=session, children=children, seed=seed, now=NOW, timescales=TIMESCALES, **kwargs)
    session.commit()
    return summary


def snapshot(session: Session) -> dict[str, list[tuple]]:
    """Read every seeded row of every table, in primary-key order."""
    tables = [m.__table__ for m in (Service, Team, Staff, Child, FamilyContact, BusyPeriod)]
    return {
        t.name: [tuple(r) for r in session.execute(select(t).order_by(*t.primary_key.columns))]
        for t in tables
    }


@pytest.fixture
def fresh_sqlite(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """Yield an engine on a second, empty, migrated SQLite database."""
    path = tmp_path / "second.db"
    shutil.copy(sqlite_template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(session: Session) -> Session:
    """Yield the test session on a small seeded authority."""
    run_seed(session)
    return session


def test_seed_authority_same_seed_gives_identical_rows(session: Session, fresh_sqlite: Engine):
    run_seed(session, seed=41)
    with sessionmaker(bind=fresh_sqlite)() as other:
        run_seed(other, seed=41)
        expected = snapshot(other)

    actual = snapshot(session)

    assert actual == expected
    assert len(actual["busy_period"]) > 0


def test_seed_authority_different_seed_gives_different_rows(session: Session, fresh_sqlite: Engine):
    run_seed(session, seed=41)
    with sessionmaker(bind=fresh_sqlite)() as other:
        run_seed(other, seed=42)
        other_rows = snapshot(other)

    rows = snapshot(session)

    assert rows["staff"] != other_rows["staff"]
    assert rows["child"] != other_rows["child"]
    assert rows["busy_period"] != other_rows["busy_period"]


def test_seed_authority_summary_matches_rows(session: Session):
    summary = run_seed(session)

    def count(model) -> int:
        return session.scalar(select(func.count()).select_from(model))

    assert summary == DemoSummary(
        services=count(Service), teams=count(Team), staff=count(Staff),
        auditors=session.scalar(select(func.count()).where(Staff.auditor)),
        children=count(Child), contacts=count(FamilyContact), busy_periods=count(BusyPeriod),
    )
    assert summary.children == SMALL


def test_seed_authority_every_role_present(seeded: Session):
    roles = Counter(seeded.scalars(select(Staff.role)))

    assert set(roles) == set(Role)
    assert roles[Role.ASSISTANT_DIRECTOR] == 2
    assert roles[Role.QA_MANAGER] == 1
    assert roles[Role.PRACTICE_IMPROVEMENT_MANAGER] == 2
    assert roles[Role.PRINCIPAL_SOCIAL_WORKER] == 1
    assert roles[Role.SERVICE_MANAGER] == seeded.scalar(select(func.count()).select_from(Service)) - 1


def test_seed_authority_services_and_teams_follow_framework(seeded: Session):
    teams = {t.name: t.service.name for t in seeded.scalars(select(Team))}

    assert teams == {
        "Assessment North": "Children's Social Care", "Assessment South": "Children's Social Care",
        "Child Protection": "Children's Social Care", "Children in Need": "Children's Social Care",
        "Cared For North": "Children's Social Care", "Cared For South": "Children's Social Care",
        "Early Help Central": "Early Help", "Targeted Family Support": "Early Help",
        "Youth Justice": "Youth Justice", "Care Experienced 16+": "Care Experienced",
        "Leaving Care": "Care Experienced", "IRO Team": "Safeguarding & Review Unit",
        "CP Chairs": "Safeguarding & Review Unit",
    }


def test_seed_authority_children_sit_in_teams_matching_cohort(seeded: Session):
    mismatched = [
        (c.id, c.team.name, c.cohort) for c in seeded.scalars(select(Child))
        if c.cohort not in TEAM_COHORTS[c.team.name]
    ]
    cohorts = set(seeded.scalars(select(Child.cohort).distinct()))

    assert mismatched == []
    assert cohorts == set(Cohort)


def test_seed_authority_key_worker_is_in_childs_team(seeded: Session):
    children = list(seeded.scalars(select(Child)))
    wrong = [c.id for c in children if c.key_worker and (c.key_worker.team_id, c.key_worker.role)
             != (c.team_id, Role.KEY_WORKER)]
    allocated = sum(1 for c in children if c.key_worker_id)

    assert wrong == []
    assert allocated >= len(children) * 0.9


def test_seed_authority_reviewers_follow_cohort(seeded: Session):
    children = list(seeded.scalars(select(Child)))

    assert all((c.iro is not None) == (c.cohort is Cohort.CARED_FOR) for c in children)
    assert all((c.cp_chair is not None) == (c.cohort is Cohort.CHILD_PROTECTION) for c in children)
    assert {c.iro.role for c in children if c.iro} == {Role.IRO}
    assert {c.cp_chair.role for c in children if c.cp_chair} == {Role.CP_CHAIR}
    assert {c.iro.team.service.name for c in children if c.iro} == {"Safeguarding & Review Unit"}


def test_seed_authority_manager_chain_reaches_assistant_director(seeded: Session):
    staff = {s.id: s for s in seeded.scalars(select(Staff))}
    expected_parent = {
        Role.KEY_WORKER: Role.TEAM_MANAGER, Role.IRO: Role.TEAM_MANAGER, Role.CP_CHAIR: Role.TEAM_MANAGER,
        Role.TEAM_MANAGER: Role.SERVICE_MANAGER, Role.SERVICE_MANAGER: Role.ASSISTANT_DIRECTOR,
        Role.PRINCIPAL_SOCIAL_WORKER: Role.ASSISTANT_DIRECTOR,
        Role.QA_MANAGER: Role.PRINCIPAL_SOCIAL_WORKER,
        Role.PRACTICE_IMPROVEMENT_MANAGER: Role.PRINCIPAL_SOCIAL_WORKER,
    }

    wrong = [
        s.id for s in staff.values() if s.role is not Role.ASSISTANT_DIRECTOR
        and staff[s.manager_id].role is not expected_parent[s.role]
    ]
    key_workers_in_managers_team = all(
        staff[s.manager_id].team_id == s.team_id for s in staff.values() if s.role is Role.KEY_WORKER
    )
    tops = [s.manager_id for s in staff.values() if s.role is Role.ASSISTANT_DIRECTOR]

    assert wrong == []
    assert key_workers_in_managers_team
    assert tops == [None, None]


def test_seed_authority_every_manager_audits_and_some_are_new(seeded: Session):
    staff = list(seeded.scalars(select(Staff)))
    should_audit = [s for s in staff if s.role is not Role.KEY_WORKER]
    new_auditors = [s for s in staff if s.new_auditor]

    assert all(s.auditor for s in should_audit)
    assert not any(s.auditor for s in staff if s.role is Role.KEY_WORKER)
    assert {s.role for s in should_audit} >= MANAGERS
    assert 1 <= len(new_auditors) <= len(should_audit) * 0.2
    assert all(s.auditor for s in new_auditors)
    assert any(s.newly_qualified for s in staff if s.role is Role.KEY_WORKER)


def test_seed_authority_emails_unique_ascii_lowercase(seeded: Session):
    emails = list(seeded.scalars(select(Staff.email)))
    ids = list(seeded.scalars(select(Staff.id).order_by(Staff.id)))

    assert len(set(emails)) == len(emails)
    assert all(e.isascii() and e == e.lower() and e.endswith("@council.example") for e in emails)
    assert ids[0] == "S0001"


def test_seed_authority_ages_fit_cohorts(seeded: Session):
    today = TIMESCALES.today(NOW)
    outside = [
        (c.id, c.cohort, c.age_on(today)) for c in seeded.scalars(select(Child))
        if not AGES[c.cohort][0] <= c.age_on(today) <= AGES[c.cohort][1]
    ]
    ids = sorted(seeded.scalars(select(Child.id)))

    assert outside == []
    assert ids[0] == "C100001"


def test_seed_authority_contacts_fit_age(seeded: Session):
    children = list(seeded.scalars(select(Child)))
    adults = [len(c.contacts) for c in children if c.cohort is Cohort.CARE_EXPERIENCED]
    minors = [len(c.contacts) for c in children if c.cohort is not Cohort.CARE_EXPERIENCED]
    contacts = [k for c in children for k in c.contacts]

    assert set(adults) <= {0, 1}
    assert set(minors) <= {1, 2, 3}
    assert all((k.language is not None) == k.interpreter_needed for k in contacts)
    assert all(k.phone for k in contacts)


def test_seed_authority_supervision_dates_mostly_recent(session: Session):
    run_seed(session, children=1000)
    today = TIMESCALES.today(NOW)
    dates = list(session.scalars(select(Child.last_supervision_date)))

    gaps = sum(1 for d in dates if TIMESCALES.supervision_gap(d, today))
    recent = sum(1 for d in dates if d is not None and 0 < (today - d).days <= 92)

    assert 10 <= gaps <= 80
    assert recent >= 900
    assert None in dates


def test_seed_authority_busy_periods_on_working_days_and_aware(seeded: Session):
    periods = list(seeded.scalars(select(BusyPeriod)))
    today = TIMESCALES.today(NOW)
    staff = seeded.scalar(select(func.count()).select_from(Staff))
    per_person = Counter(p.staff_id for p in periods)

    days = {TIMESCALES.today(p.starts_at) for p in periods}

    assert all(p.starts_at.tzinfo is not None and p.ends_at.tzinfo is not None for p in periods)
    assert all(p.starts_at < p.ends_at for p in periods)
    assert all(TIMESCALES.is_working_day(d) and 0 < (d - today).days <= 56 for d in days)
    assert all(
        p.starts_at < TIMESCALES.working_hours(TIMESCALES.today(p.starts_at))[1]
        and p.ends_at > TIMESCALES.working_hours(TIMESCALES.today(p.starts_at))[0]
        for p in periods
    )
    assert len(per_person) == staff
    assert max(per_person.values()) <= 8


def test_seed_authority_non_empty_database_refused(seeded: Session):
    with pytest.raises(UserError, match=r"already holds \d+ staff; seed-demo fills an empty database"):
        seed_authority(session=seeded, children=SMALL, seed=1, now=NOW, timescales=TIMESCALES)


def test_seed_authority_progress_reaches_total(session: Session):
    reports: list[tuple[int, int]] = []

    run_seed(session, children=SMALL, progress=lambda done, total: reports.append((done, total)))

    assert reports[-1] == (SMALL, SMALL)


def test_seed_authority_default_size_keeps_caseloads_in_range(session: Session):
    summary = run_seed(session, children=1200)
    caseloads = Counter(
        session.scalars(select(Child.key_worker_id).where(Child.key_worker_id.is_not(None)))
    )
    key_workers = session.scalar(select(func.count()).where(Staff.role == Role.KEY_WORKER))
    mean = sum(caseloads.values()) / key_workers

    assert summary.children == 1200
    assert 14 <= mean <= 20
    assert max(caseloads.values()) <= 21


def test_seed_demo_cli_prints_counts_only(app_env: str):
    runner = CliRunner()
    args = ["seed-demo", "--children", str(SMALL), "--seed", "7", "--now", "2026-03-20T09:00"]

    first = runner.invoke(app, args)
    second = runner.invoke(app, args)

    engine = db.make_engine(app_env)
    with sessionmaker(bind=engine)() as s:
        child = s.scalars(select(Child).order_by(Child.id)).first()
        contact = s.scalars(select(FamilyContact).order_by(FamilyContact.id)).first()
        children = s.scalar(select(func.count()).select_from(Child))
    engine.dispose()
    assert first.exit_code == 0, first.output
    assert "Children" in first.output and str(SMALL) in first.output
    assert child.last_name not in first.output
    assert contact.name not in first.output and contact.phone not in first.output
    assert children == SMALL
    assert second.exit_code == 1
    assert "seed-demo fills an empty database" in second.output
