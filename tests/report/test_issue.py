"""Publishing the report: the phase and the console's buttons share one function; a person issues or reissues only
the edition they saw, and a reissue needs a reason."""
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.core.settings import Settings
from auditcycle.models import Event, ReportEdition, Staff
from auditcycle.models.enums import Role
from auditcycle.report.issue import issue_edition, publish
from auditcycle.report.notes import ReportTextRefused
from auditcycle.sampling.cycle import draw
from auditcycle.storage.trail import acting_as

DEC = Month(2026, 12)
NOW = "2027-01-15T10:00"


@pytest.fixture
def ctx(s: Session, tmp_path: Path):
    """December drawn; the clock in January, the reports in the test's folder."""
    settings = Settings(database_url="sqlite://", reports_dir=tmp_path / "reports")
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=2, seed=4)
    s.commit()
    return build_context(NOW, settings=settings)


def _qa(s: Session) -> Staff:
    return s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active).order_by(Staff.id)).first()


def test_an_edition_the_scheduler_issued_is_named_when_a_person_then_tries_to_issue_it(s: Session, ctx) -> None:
    with acting_as("scheduler:report"):
        published = publish(s, ctx, month=DEC)
    s.commit()

    with pytest.raises(UserError) as refused:
        issue_edition(s, ctx, month=DEC, by=_qa(s).id, seen=0)

    assert published["queued"] > 0 and (ctx.settings.reports_dir / "2026-12" / "edition-1" / "report.pdf").is_file()
    assert s.execute(select(ReportEdition.edition, ReportEdition.issued_by_id)).all() == [(1, None)]
    assert str(refused.value) == ("Edition 1 of the December 2026 report was already issued by the scheduled report "
                                  "run at 10:00 on Friday 15 January 2027. Nothing was sent again.")


def test_a_person_s_run_of_the_phase_is_credited_to_them(s: Session, ctx) -> None:
    qa = _qa(s)
    with acting_as(qa.id):
        publish(s, ctx, month=DEC)

    assert s.scalar(select(ReportEdition.issued_by_id)) == qa.id


@pytest.mark.parametrize("reason, says", [
    ("  ", "Enter why the report is being reissued"),
    ("x" * 501, "The reason must be 500 characters or fewer"),
    ("Grade \u202ecorrected", "The reason contains a bidirectional control character"),
])
def test_a_reissue_without_a_fit_reason_is_refused_naming_the_field_and_sends_nothing(
        s: Session, ctx, reason: str, says: str) -> None:
    qa = _qa(s)
    issue_edition(s, ctx, month=DEC, by=qa.id, seen=0)
    s.commit()

    with pytest.raises(ReportTextRefused) as refused:
        issue_edition(s, ctx, month=DEC, by=qa.id, seen=1, reason=reason)

    assert refused.value.field_name == "reason" and str(refused.value).startswith(says)
    assert s.scalar(select(ReportEdition.edition).order_by(ReportEdition.edition.desc()).limit(1)) == 1
    assert s.scalars(select(Event.kind).where(Event.kind.like("report-%"))).all() == ["report-issued"]


def test_a_reissue_before_any_issue_and_a_month_not_drawn_are_refused(s: Session, ctx) -> None:
    qa = _qa(s)

    with pytest.raises(UserError, match="has not been issued yet, so there is nothing to reissue"):
        issue_edition(s, ctx, month=DEC, by=qa.id, seen=1, reason="A correction")
    with pytest.raises(UserError, match="no sample has been drawn for 2027-02: there is no report to issue"):
        issue_edition(s, ctx, month=Month(2027, 2), by=qa.id, seen=0)
    assert s.scalar(select(ReportEdition.id)) is None
