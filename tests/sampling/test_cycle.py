"""Drawing the month's sample, replacement and the supervision gaps the records show."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from factories import context_at
from sqlalchemy import func, select, update

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.models import Audit, AuditCycle, Child, ImmediateResponse, Staff, SupervisionGap, Team
from auditcycle.models.enums import AuditStatus, Cohort, Role, SupervisionGapStatus
from auditcycle.sampling.cycle import draw, replace

NOW = "2026-11-23T09:00"
DEC = Month(2026, 12)


@pytest.fixture
def ctx():
    return context_at(NOW)


def _by_role(s, role: Role) -> Staff:
    return s.scalars(select(Staff).where(Staff.role == role).order_by(Staff.id)).first()


def test_draw_makes_one_audit_per_auditor_by_default(s, ctx) -> None:
    auditors = s.scalar(select(func.count()).select_from(Staff).where(Staff.auditor, Staff.active))

    summary = draw(s, ctx, month=DEC, seed=5)
    s.commit()

    audits = list(s.scalars(select(Audit)))
    assert summary.created and summary.audits == auditors == len(audits)
    assert {a.due_date for a in audits} == {date(2026, 12, 31)}
    assert s.scalar(select(AuditCycle.seed)) == 5


def test_draw_respects_allocation_rules(s, ctx) -> None:
    draw(s, ctx, month=DEC, seed=9)
    s.commit()
    loads: dict[str, int] = {}
    for audit in s.scalars(select(Audit)):
        auditor = s.get(Staff, audit.auditor_id)
        child = audit.child
        assert auditor.team_id != child.team_id
        assert child.key_worker.manager_id != auditor.id
        loads[auditor.id] = loads.get(auditor.id, 0) + 1
        if auditor.new_auditor:
            assert audit.buddy_id is not None and not s.get(Staff, audit.buddy_id).new_auditor
    assert max(loads.values()) - min(loads.values()) <= 1


def test_draw_twice_keeps_the_first_sample(s, ctx) -> None:
    first = draw(s, ctx, month=DEC, seed=1)
    s.commit()
    children = set(s.scalars(select(Audit.child_id)))

    second = draw(s, ctx, month=DEC, seed=2)
    s.commit()

    assert not second.created and second.seed == first.seed == 1
    assert set(s.scalars(select(Audit.child_id))) == children
    assert s.scalar(select(func.count()).select_from(AuditCycle)) == 1


def test_same_seed_reproduces_the_draw(s, ctx, authority) -> None:
    draw(s, ctx, month=DEC, seed=123)
    first = [(a.child_id, a.auditor_id) for a in s.scalars(select(Audit).order_by(Audit.id))]
    s.rollback()

    draw(s, ctx, month=DEC, seed=123)
    again = [(a.child_id, a.auditor_id) for a in s.scalars(select(Audit).order_by(Audit.id))]

    assert first == again and first


def test_draw_excludes_recent_audits_and_unallocated_children(s, ctx) -> None:
    some = list(s.scalars(select(Child.id).order_by(Child.id).limit(40)))[::8]
    s.execute(update(Child).where(Child.id.in_(some)).values(key_worker_id=None))
    s.commit()
    unallocated = set(s.scalars(select(Child.id).where(Child.key_worker_id.is_(None))))
    nov = build_context("2026-10-23T09:00", settings=ctx.settings)
    draw(s, nov, month=Month(2026, 11), size=60, seed=3)
    s.commit()
    november = set(s.scalars(select(Audit.child_id)))

    draw(s, ctx, month=DEC, size=60, seed=3)
    s.commit()
    december = set(s.scalars(select(Audit.child_id).join(AuditCycle).where(AuditCycle.month == "2026-12")))

    assert unallocated, "the fixture should hold unallocated children"
    assert not december & november
    assert not december & unallocated


def test_theme_filters_by_cohort_and_team(s, ctx) -> None:
    team = s.scalar(select(Team.name).join(Child, Child.team_id == Team.id)
                    .where(Child.cohort == Cohort.CHILD_PROTECTION).group_by(Team.name)
                    .order_by(func.count().desc()).limit(1))

    draw(s, ctx, month=DEC, theme="Child protection planning", cohort=Cohort.CHILD_PROTECTION, team=team,
         size=3, seed=4)
    s.commit()

    audits = list(s.scalars(select(Audit)))
    assert len(audits) == 3
    assert {a.child.cohort for a in audits} == {Cohort.CHILD_PROTECTION}
    assert {a.child.team.name for a in audits} == {team}
    assert s.scalar(select(AuditCycle.theme)) == "Child protection planning"


def test_replace_redraws_from_the_same_stratum(s, ctx) -> None:
    qa = _by_role(s, Role.QA_MANAGER)
    draw(s, ctx, month=DEC, seed=6)
    s.commit()
    old = s.scalars(select(Audit).order_by(Audit.id)).first()

    new = replace(s, ctx, reference=old.reference, by=qa.id, reason="Case closed last week")
    s.commit()

    assert old.status == AuditStatus.REPLACED and old.status_reason == "Case closed last week"
    assert new.child.team.name == old.stratum == new.stratum
    assert new.child_id != old.child_id and new.auditor_id == old.auditor_id
    assert new.replaces_id == old.id


def test_replace_by_a_key_worker_is_refused_and_changes_nothing(s, ctx) -> None:
    draw(s, ctx, month=DEC, seed=6)
    s.commit()
    old = s.scalars(select(Audit).order_by(Audit.id)).first()
    worker = _by_role(s, Role.KEY_WORKER)

    with pytest.raises(PermissionDenied, match="only the QA team may"):
        replace(s, ctx, reference=old.reference, by=worker.id, reason="x")
    s.rollback()

    assert s.get(Audit, old.id).status == AuditStatus.ALLOCATED


def test_draw_records_supervision_gaps_once_and_raises_no_response(s, ctx) -> None:
    # Every child's supervision is 6 months and a day old, so every sampled child's records show a gap.
    s.execute(update(Child).values(last_supervision_date=date(2026, 5, 22)))
    s.commit()

    summary = draw(s, ctx, month=DEC, size=4, seed=2)
    draw(s, ctx, month=DEC, size=4, seed=2)
    s.commit()

    gaps = list(s.scalars(select(SupervisionGap)))
    assert summary.supervision_gaps == 4 == len(gaps)
    assert {(g.status, g.since) for g in gaps} == {(SupervisionGapStatus.SUSPECTED, date(2026, 5, 22))}
    # December's first working day is Tuesday 1 December: the auditor has until 17:00 that day.
    assert {g.decide_by for g in gaps} == {datetime(2026, 12, 1, 17, tzinfo=ZoneInfo("Europe/London"))}
    assert s.scalar(select(func.count()).select_from(ImmediateResponse)) == 0


def test_unknown_team_filter_is_a_clear_error(s, ctx) -> None:
    with pytest.raises(UserError, match="no team has that name"):
        draw(s, ctx, month=DEC, team="Nowhere Team")
