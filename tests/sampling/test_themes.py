"""The year's plan of monthly themes: stored whole or not at all, taken by the draw, revisits compared."""
from datetime import date
from pathlib import Path

import pytest
from conftest import QA_MANAGER
from forms import valid_form
from sqlalchemy import func, select

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.models import Audit, AuditCycle, PlannedTheme, Staff
from auditcycle.models.enums import Role
from auditcycle.report.data import build_report_data
from auditcycle.report.render import render_html
from auditcycle.sampling.cycle import draw
from auditcycle.sampling.themes import store_plan
from auditcycle.submissions.submit import submit

NOW = build_context("2026-11-02T09:00").now


def _plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "themes.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_draw_takes_the_months_planned_theme(s, settings, tmp_path) -> None:
    store_plan(s, path=_plan(tmp_path, '[2026-12]\ntheme = "Voice of the child"\n\n[2027-01]\ntheme = "Neglect"\n'),
               by=QA_MANAGER, now=NOW)

    draw(s, build_context("2026-11-23T09:00", settings=settings), month=Month(2026, 12), size=2, seed=1)

    assert s.scalar(select(AuditCycle.theme)) == "Voice of the child"
    assert s.scalar(select(func.count()).select_from(PlannedTheme)) == 2


def test_a_bad_plan_names_every_problem_and_stores_nothing(s, tmp_path) -> None:
    text = ('[2027-13]\ntheme = "x"\n\n[2027-02]\ntheme = "two\\nlines"\n\n[2027-03]\nrevisit = true\n\n'
            '[2027-04]\ntheme = "Fathers"\nrevisit = true\ncolour = "red"\n')

    with pytest.raises(UserError) as refused:
        store_plan(s, path=_plan(tmp_path, text), by=QA_MANAGER, now=NOW)

    message = str(refused.value)
    assert "[2027-13]: not an audit month" in message
    assert "[2027-02] theme" in message and "[2027-03] theme: required" in message
    assert "[2027-04] colour: unknown" in message
    assert "[2027-04] revisit: no earlier month has the theme 'Fathers'" in message
    assert s.scalar(select(func.count()).select_from(PlannedTheme)) == 0


def test_only_the_qa_team_plans_themes(s, tmp_path) -> None:
    worker = s.scalars(select(Staff.id).where(Staff.role == Role.KEY_WORKER)).first()

    with pytest.raises(PermissionDenied, match="may not plan-themes"):
        store_plan(s, path=_plan(tmp_path, '[2027-01]\ntheme = "Neglect"\n'), by=worker, now=NOW)


def _submit_all(s, settings, month: Month, overall: str, when: str) -> None:
    for audit in s.scalars(select(Audit).join(AuditCycle).where(AuditCycle.month == str(month))):
        submit(s, build_context(when, settings=settings), reference=audit.reference, by=audit.auditor_id,
               data=valid_form(audit.child.key_worker_id, today=date.fromisoformat(when[:10]), overall=overall))


def test_a_revisited_theme_is_compared_with_its_last_time_in_the_report(s, settings, tmp_path) -> None:
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=Month(2026, 12), theme="Voice of the child",
         size=2, seed=1)
    _submit_all(s, settings, Month(2026, 12), "inadequate", "2026-12-14T10:00")
    store_plan(s, path=_plan(tmp_path, '[2027-01]\ntheme = "voice of the  child"\nrevisit = true\n'),
               by=QA_MANAGER, now=build_context("2026-12-15T09:00").now)
    draw(s, build_context("2026-12-21T09:00", settings=settings), month=Month(2027, 1), size=2, seed=2)
    _submit_all(s, settings, Month(2027, 1), "good", "2027-01-13T10:00")

    data = build_report_data(s, build_context("2027-02-05T09:00", settings=settings), month=Month(2027, 1))

    assert data.revisit is not None and data.revisit.last_month == "2026-12"
    assert (data.revisit.then.completed, data.revisit.then.inadequate_pct) == (2, 100.0)
    assert data.headline.good_or_better_pct == 100.0
    html = " ".join(render_html(data).split())
    assert "A revisited theme, last looked at in December 2026: then 0% of 2 completed audits" in html
