"""The console's deep dive and dip sample: asked for on a form, stored once as the signed-in person, and the progress
of its run read back from the database (so any web worker can show it), by the request's reference alone."""
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.models import Audit, AuditCycle, DrawRequest, PhaseLease, PhaseRun, Staff, Team
from auditcycle.models.enums import Cohort, CycleKind, PhaseRunStatus
from auditcycle.notifications.notices import day_label, moment_label
from auditcycle.people.permissions import authorise
from auditcycle.sampling.adhoc import PHASES
from auditcycle.sampling.requests import LABELS, Asked, get_request, reference_of, store_request
from auditcycle.storage.db import serialise

KINDS = (CycleKind.DEEP_DIVE, CycleKind.DIP_SAMPLE)
RECENT = 10
# The errors whose message is written for the person asking (auditcycle.core.errors and its kin); any other
# failure is a fault, whose details are for the log, not the page.
SAID_TO_PEOPLE = ("UserError", "PermissionDenied", "PhaseBusy", "Conflict", "DatabaseBusy", "RequestRefused")


def cohort_label(cohort: Cohort) -> str:
    """Name a cohort as a person would: "Child protection"."""
    return cohort.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Recent:
    """One request lately asked for, as the form's page lists it."""

    reference: str
    kind: str
    theme: str
    asked_by: str
    asked_at: str
    state: str


@dataclass(frozen=True)
class FormChoices:
    """What the form offers (teams, cohorts, the framework's domains) and the requests lately asked for."""

    teams: tuple[str, ...]
    cohorts: tuple[tuple[str, str], ...]
    domains: tuple[tuple[str, str], ...]
    recent: tuple[Recent, ...]


@dataclass(frozen=True)
class Asking:
    """A request as the console stored it: its reference, and whether this POST stored it (a replay did not)."""

    reference: str
    new: bool
    kind: CycleKind


@dataclass(frozen=True)
class DrawnAudit:
    """One audit a request drew, by case id."""

    reference: str
    case_id: str
    team: str
    auditor: str
    status: str


@dataclass(frozen=True)
class Progress:
    """A request and how its run stands: waiting, running, finished or failed (with why), and what it has done."""

    reference: str
    kind: str
    theme: str
    reason: str | None
    size: int
    due: str
    cohort: str
    team: str
    domains: tuple[str, ...]
    asked_by: str
    asked_at: str
    state: str              # waiting, running, finished or failed
    behind_another: bool    # waiting while another run of its phase holds the phase
    problem: str | None     # why it failed
    started_at: str | None
    finished_at: str | None
    cycle: str | None
    figures: tuple[tuple[str, str], ...]
    audits: tuple[DrawnAudit, ...]
    flow_run_id: str | None


def form_choices(session: Session, ctx: AppContext) -> FormChoices:
    """Return what the deep dive form offers, and the ad-hoc requests lately asked for, newest first."""
    rows = session.scalars(select(DrawRequest).where(DrawRequest.kind.in_(KINDS))
                           .order_by(DrawRequest.id.desc()).limit(RECENT))
    return FormChoices(
        teams=tuple(session.scalars(select(Team.name).order_by(Team.name))),
        cohorts=tuple((c.value, cohort_label(c)) for c in Cohort),
        domains=tuple(ctx.settings.framework.domains.items()),
        recent=tuple(Recent(reference=reference_of(row), kind=LABELS[row.kind].capitalize(), theme=row.theme,
                            asked_by=_name(session, row.requested_by_id),
                            asked_at=moment_label(row.requested_at, ctx.tz),
                            state=_state(_last_run(session, row.id), row)[0]) for row in rows))


def ask(session: Session, ctx: AppContext, *, asked: Asked, by: str, form_key: str) -> Asking:
    """Store a deep dive or dip sample asked for on the console's form, as `by`, once per form.

    A second POST of the same form (a double click, a replay, the back button) finds the request the
    first one stored and stores nothing, so it starts nothing either.
    """
    if asked.kind not in KINDS:
        raise UserError("the console asks for a deep dive or a dip sample")
    # Two POSTs of one form at the same moment: the second waits here, then finds the first's request.
    serialise(session, "console-draw-request")
    existing = session.scalar(select(DrawRequest).where(DrawRequest.form_key == form_key))
    if existing is not None:
        if existing.requested_by_id != by:
            raise UserError("This form was sent by someone else. Open the deep dive page again to ask for one.")
        return Asking(reference=reference_of(existing), new=False, kind=existing.kind)
    return Asking(reference=store_request(session, ctx, asked=asked, by=by, form_key=form_key), new=True,
                  kind=asked.kind)


def start_again(session: Session, ctx: AppContext, *, reference: str, by: str) -> CycleKind:
    """Check that `by` may start a stored request's run again, and that it is not running; return its kind.

    The run stays credited to whoever asked for it; a re-run draws nothing new and finishes what was left.
    """
    authorise(session, command="deep-dive", staff_id=by)
    row = get_request(session, reference)
    if row.kind not in KINDS:
        raise UserError(f"{reference_of(row)} is not a deep dive or a dip sample")
    if _state(_last_run(session, row.id), row)[0] == "running":
        raise UserError(f"{reference_of(row)} is running: wait for it to finish")
    return row.kind


def progress(session: Session, ctx: AppContext, reference: str) -> Progress:
    """Return a deep dive's or dip sample's request and how its latest run stands, read from the database."""
    row = get_request(session, reference)
    if row.kind not in KINDS:
        raise UserError(f"{reference_of(row)} is not a deep dive or a dip sample")
    run = _last_run(session, row.id)
    state, problem = _state(run, row)
    audits = tuple(DrawnAudit(reference=a.reference, case_id=a.child_id, team=team,
                              auditor=a.auditor.name if a.auditor else "None yet",
                              status=a.status.value.replace("_", " ").capitalize())
                   for a, team in session.execute(select(Audit, Team.name).join(Team, Team.id == Audit.team_id)
                                                  .where(Audit.cycle_id == row.cycle_id).order_by(Audit.id))
                   ) if row.cycle_id else ()
    domains = ctx.settings.framework.domains
    return Progress(
        reference=reference_of(row), kind=LABELS[row.kind].capitalize(), theme=row.theme, reason=row.reason,
        size=row.size or 0, due=day_label(row.due_date), cohort=cohort_label(row.cohort) if row.cohort else "Any",
        team=row.team or "Any", domains=tuple(domains.get(d, d) for d in (row.domains or "").split(",") if d),
        asked_by=_name(session, row.requested_by_id), asked_at=moment_label(row.requested_at, ctx.tz),
        state=state, problem=problem, behind_another=state == "waiting" and _phase_held(session, row.kind),
        started_at=moment_label(run.started_at, ctx.tz) if run else None,
        finished_at=moment_label(run.finished_at, ctx.tz) if run and run.finished_at else None,
        cycle=session.get(AuditCycle, row.cycle_id).reference if row.cycle_id else None,
        figures=_figures(run.summary if run else None), audits=audits, flow_run_id=row.flow_run_id)


def _phase_held(session: Session, kind: CycleKind) -> bool:
    lease = session.get(PhaseLease, PHASES[kind])
    return lease is not None and lease.expires_at > wall_clock()


def _last_run(session: Session, request_id: int) -> PhaseRun | None:
    return session.scalars(select(PhaseRun).where(PhaseRun.request_id == request_id)
                           .order_by(PhaseRun.id.desc()).limit(1)).first()


def _name(session: Session, staff_id: str) -> str:
    return session.scalar(select(Staff.name).where(Staff.id == staff_id)) or staff_id


def _state(run: PhaseRun | None, row: DrawRequest) -> tuple[str, str | None]:
    """Say how a request's run stands, and why it failed."""
    if run is None:
        return "waiting", None
    if run.status == PhaseRunStatus.RUNNING:
        return "running", None
    if run.status == PhaseRunStatus.SUCCEEDED:
        return "finished", None
    kind, _, message = (run.error or "").partition(": ")
    if kind in SAID_TO_PEOPLE and message:
        return "failed", message
    return "failed", (f"It stopped with an unexpected error ({kind or 'unknown'}), whose details are in the "
                      f"application's log. {reference_of(row)} is kept: ask for it to be started again.")


def _figures(summary: dict | None) -> tuple[tuple[str, str], ...]:
    """Name what a run has done so far, in counts only."""
    if not summary:
        return ()
    figures = [("Drawn", f"{summary.get('audits', 0)} audits"
                + ("" if summary.get("created", True) else " (drawn by an earlier run)"))]
    if "queued" in summary:
        figures.append(("Notices queued", f"{summary['queued']} messages"))
    if "booked" in summary:
        unbooked = summary.get("unbooked", 0)
        figures.append(("Meetings booked", f"{summary['booked']}"
                        + (f" ({unbooked} could not be booked: the QA manager is told)" if unbooked else "")))
    if isinstance(delivery := summary.get("delivery"), dict):
        figures.append(("Mail delivered", f"{delivery.get('sent', 0)} sent, {delivery.get('retrying', 0)} to retry, "
                        f"{delivery.get('held', 0)} held, {delivery.get('failed', 0)} failed"))
    return tuple(figures)

