"""The monthly report's numbers, from a small authority built by hand with every figure worked out below.

The authority (audit month December 2026, due Thursday 31 December; report run Friday 8 January 2027):

- December: A1 graded good, moderated down to requires improvement; A2 outstanding, moderation agreed;
  A3 inadequate, submitted at 17:15 on the due date (late); A4 good, submitted in January (late), still
  pending moderation; A5 booked, no form; A6 withdrawn. A deep dive of December is not part of the report.
- November: N1 good on time, N2 inadequate late, N3 no form. September: S1 outstanding on time.
  December 2025 (outside the trend) and January 2027 (later) have cycles too.
"""
from datetime import date, datetime

import pytest
from conftest import PLANTED
from factories import context_at
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month, localize
from auditcycle.core.context import AppContext
from auditcycle.core.settings import DEFAULT_DOMAINS, FrameworkSettings, LadderStep, Settings
from auditcycle.models import (
    Action,
    Audit,
    AuditCycle,
    Child,
    DomainGrade,
    FamilyContact,
    FamilyFeedback,
    ImmediateResponse,
    MakeADifference,
    Moderation,
    Observation,
    Service,
    Staff,
    Submission,
    Team,
    TrendFlag,
)
from auditcycle.models.enums import (
    ActionStatus,
    AuditKind,
    AuditStatus,
    Cohort,
    CycleKind,
    ModerationStatus,
    ObservationStatus,
    ResponseStatus,
    ResponseTrigger,
    Role,
)
from auditcycle.people.cases import case_of
from auditcycle.report.data import (
    BAND_1_5,
    BAND_6_10,
    BAND_OVER_10,
    FlagRow,
    Headline,
    LateResponse,
    LoopRow,
    ModerationStats,
    ReportData,
    TeamRow,
    build_report_data,
    overdue_band,
    percentage,
)

DEC, NOV, OCT, SEP = Month(2026, 12), Month(2026, 11), Month(2026, 10), Month(2026, 9)
REPORT_NOW = "2027-01-08T09:00"
CSC, EARLY_HELP = "Children's Social Care", "Early Help"
O, G, RI, I = "Outstanding", "Good", "Requires improvement to be good", "Inadequate"
ZERO_HEADLINE = Headline(allocated=0, completed=0, completed_on_time=0, good_or_better_pct=None,
                         inadequate_pct=None)


def ctx_at(now: str = REPORT_NOW) -> AppContext:
    return context_at(now)


CTX = ctx_at()


def at(local: str) -> datetime:
    return localize(datetime.fromisoformat(local), CTX.tz)


class World:
    """Add rows with only the fields the report reads, and every required one."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.n = 0

    def add(self, row):
        self.s.add(row)
        self.s.flush()
        return row

    def cycle(self, month: Month, *, kind: CycleKind = CycleKind.MONTHLY, theme: str | None = None,
              notes: str | None = None) -> AuditCycle:
        prefix = "C" if kind == CycleKind.MONTHLY else kind.value.upper()
        return self.add(AuditCycle(reference=f"{prefix}-{month}", kind=kind, month=str(month), theme=theme,
                                   report_notes=notes, due_date=CTX.timescales.last_working_day(month)))

    def child(self, case_id: str, team: Team, key_worker: str) -> Child:
        return self.add(Child(id=case_id, first_name=PLANTED["child_first"], last_name=PLANTED["child_last"],
                              date_of_birth=date.fromisoformat(PLANTED["dob"]), cohort=Cohort.CHILD_IN_NEED,
                              team_id=team.id, key_worker_id=key_worker))

    def audit(self, cycle: AuditCycle, number: int, child: Child, *, status: AuditStatus = AuditStatus.COMPLETED,
              kind: AuditKind = AuditKind.DIP_SAMPLE) -> Audit:
        audit = Audit(reference=f"A-{cycle.month}-{number:03d}" if cycle.kind == CycleKind.MONTHLY
                      else f"DD-{cycle.month}-{number:03d}", cycle_id=cycle.id, child_id=child.id,
                      auditor_id="QA1", kind=kind, status=status, due_date=cycle.due_date,
                      created_at=at("2026-08-01T09:00"))
        case_of(self.s, child.id).record_on(audit)  # as the draw does
        return self.add(audit)

    def submit(self, audit: Audit, overall: str, when: str, grades: dict[str, str] | None = None) -> Submission:
        submission = self.add(Submission(audit_id=audit.id, submitted_by_id="QA1", overall=overall,
                                         strengths="", submitted_at=at(when), recorded_at=at(when)))
        for domain in DEFAULT_DOMAINS:
            self.s.add(DomainGrade(submission_id=submission.id, domain=domain,
                                   grade=(grades or {}).get(domain, overall)))
        self.s.flush()
        return submission

    def moderate(self, audit: Audit, original: str, moderated: str | None) -> Moderation:
        status = (ModerationStatus.PENDING if moderated is None
                  else ModerationStatus.AGREED if moderated == original else ModerationStatus.CHANGED)
        return self.add(Moderation(audit_id=audit.id, reason="random", status=status, original_overall=original,
                                   moderated_overall=moderated, selected_at=at("2027-01-04T09:00"),
                                   decided_at=at("2027-01-06T11:00") if moderated else None))

    def action(self, audit: Audit, due: str, status: ActionStatus, *, step: int = 0, completed: str | None = None,
               owner: str = "KW1") -> Action:
        self.n += 1
        return self.add(Action(
            reference=f"{audit.reference}-ACT{self.n}", audit_id=audit.id, description="Update the plan",
            owner_id=owner, due_date=date.fromisoformat(due), status=status, escalation_step=step,
            completed_at=at(completed) if completed else None,
            signed_off_at=at("2027-01-05T10:00") if status == ActionStatus.SIGNED_OFF else None,
            created_at=at("2026-12-01T09:00"), recorded_at=at("2026-12-01T09:00")))

    def response(self, audit: Audit, raised: str, responded: str | None) -> ImmediateResponse:
        self.n += 1
        raised_at = at(raised)
        responded_at = at(responded) if responded else None
        return self.add(ImmediateResponse(
            reference=f"IR-{self.n}", audit_id=audit.id, trigger=ResponseTrigger.SAFEGUARDING_CONCERN,
            dedupe_key=str(self.n), reason="concern", raised_at=raised_at,
            deadline_at=CTX.timescales.immediate_response_deadline(raised_at),
            status=ResponseStatus.RESPONDED if responded else ResponseStatus.OPEN, responded_at=responded_at,
            same_day=(None if responded_at is None else
                      responded_at.astimezone(CTX.tz).date() == raised_at.astimezone(CTX.tz).date()),
            recorded_at=raised_at))


def _organisation(w: World) -> dict[str, Team]:
    csc = w.add(Service(name=CSC))
    early = w.add(Service(name=EARLY_HELP))
    teams = {name: w.add(Team(name=name, service_id=service.id))
             for name, service in [("Alpha", csc), ("Bravo", csc), ("Charlie", early)]}
    for sid, name, role, team in [("TM1", "Tom Manager", Role.TEAM_MANAGER, "Alpha"),
                                  ("KW1", "Priya Shah", Role.KEY_WORKER, "Alpha"),
                                  ("KW2", "Sam Patel", Role.KEY_WORKER, "Bravo"),
                                  ("KW3", "Lee Jones", Role.KEY_WORKER, "Charlie"),
                                  ("QA1", "Quinn Auditor", Role.QA_MANAGER, None)]:
        w.add(Staff(id=sid, name=name, email=f"{sid.lower()}@example.org", role=role,
                    team_id=teams[team].id if team else None, auditor=sid == "QA1"))
    return teams


@pytest.fixture
def world(session: Session) -> dict:
    w = World(session)
    teams = _organisation(w)
    alpha, bravo, charlie = teams["Alpha"], teams["Bravo"], teams["Charlie"]
    children = {cid: w.child(cid, team, kw) for cid, team, kw in [
        ("C1", alpha, "KW1"), ("C2", alpha, "KW1"), ("C3", bravo, "KW2"), ("C4", bravo, "KW2"),
        ("C5", charlie, "KW3"), ("C6", charlie, "KW3"), ("C7", alpha, "KW1"), ("C8", bravo, "KW2"),
        ("C9", charlie, "KW3")]}
    w.add(FamilyContact(child_id="C1", relation="mother", name=PLANTED["contact_name"], phone=PLANTED["phone"]))

    dec = w.cycle(DEC, theme="Neglect", notes="Thanks to everyone who audited.")
    a1 = w.audit(dec, 1, children["C1"])
    a2 = w.audit(dec, 2, children["C2"], kind=AuditKind.GOOD_PRACTICE)
    a3 = w.audit(dec, 3, children["C3"])
    a4 = w.audit(dec, 4, children["C4"], status=AuditStatus.IN_MODERATION)
    a5 = w.audit(dec, 5, children["C5"], status=AuditStatus.BOOKED)
    w.audit(dec, 6, children["C6"], status=AuditStatus.WITHDRAWN)
    # A1's grades as they stand after moderation: every domain requires improvement.
    s1 = w.submit(a1, "requires_improvement", "2026-12-20T10:00")
    w.moderate(a1, "good", "requires_improvement")
    s2 = w.submit(a2, "outstanding", "2026-12-31T16:30")
    w.moderate(a2, "outstanding", "outstanding")
    s3 = w.submit(a3, "inadequate", "2026-12-31T17:15", {"impact_outcomes": "requires_improvement"})
    w.submit(a4, "good", "2027-01-04T10:00")
    w.moderate(a4, "good", None)
    for submission, relation, outcome, interpreter, summary in [
        (s1, "mother", "spoke", False,
         f"{PLANTED['child_first']} is happier, said {PLANTED['contact_name']} (call {PLANTED['phone']})."),
        (s1, "father", "declined", False, ""),
        (s2, "foster_carer", "spoke", False, "Things are better at school."),
        (s3, "young_person", "spoke", True, "   "),
        (s3, "grandmother", "unreachable", False, ""),
        (s3, "carer", "not_appropriate", False, ""),
    ]:
        w.add(FamilyFeedback(submission_id=submission.id, relation=relation, outcome=outcome,
                             interpreter_used=interpreter, summary=summary))
    # Friday 8 January 2027, 09:00: A-1 is 1 working day overdue, A-2 6 (31 Dec, then 4-8 Jan), A-3 13.
    w.action(a1, "2027-01-07", ActionStatus.OPEN, step=1)
    w.action(a1, "2026-12-30", ActionStatus.OPEN, step=2)
    w.action(a3, "2026-12-17", ActionStatus.OPEN, step=3, owner="KW2")
    w.action(a3, "2027-01-08", ActionStatus.OPEN, owner="KW2")
    w.action(a2, "2026-12-18", ActionStatus.DONE, completed="2026-12-18T16:59")
    w.action(a2, "2026-12-18", ActionStatus.SIGNED_OFF, completed="2026-12-18T17:30")
    w.action(a4, "2026-12-21", ActionStatus.DONE, completed="2026-12-10T12:00", owner="KW2")
    w.response(a1, "2026-12-20T10:00", "2026-12-20T15:00")
    w.response(a3, "2026-12-22T18:00", "2026-12-23T19:00")
    w.response(a5, "2026-12-01T09:00", None)
    w.add(MakeADifference(reference="MAD-A2", kind="summary", status="approved", audit_id=a2.id,
                          summary=f"Strong direct work with the {PLANTED['child_last']} family.",
                          created_at=at("2027-01-06T12:00"), recorded_at=at("2027-01-06T12:00")))
    w.add(MakeADifference(reference="MAD-A4", kind="summary", status="draft", audit_id=a4.id,
                          summary="Not approved yet.", created_at=at("2027-01-06T12:00"),
                          recorded_at=at("2027-01-06T12:00")))

    deep = w.cycle(DEC, kind=CycleKind.DEEP_DIVE)
    d1 = w.audit(deep, 1, children["C9"], kind=AuditKind.DEEP_DIVE)
    w.submit(d1, "inadequate", "2026-12-10T10:00")
    w.action(d1, "2026-12-11", ActionStatus.OPEN)
    w.response(d1, "2026-12-10T10:00", None)
    w.add(MakeADifference(reference="MAD-D1", kind="summary", status="approved", audit_id=d1.id,
                          summary="A deep dive's summary.", created_at=at("2027-01-06T12:00"),
                          recorded_at=at("2027-01-06T12:00")))

    nov = w.cycle(NOV, theme="Neglect in adolescence")
    n1 = w.audit(nov, 1, children["C7"])
    n2 = w.audit(nov, 2, children["C8"])
    w.audit(nov, 3, children["C9"], status=AuditStatus.NOTIFIED)
    w.submit(n1, "good", "2026-11-27T10:00")
    w.submit(n2, "inadequate", "2026-12-02T10:00")
    w.action(n1, "2026-12-10", ActionStatus.OPEN)
    w.action(n1, "2026-12-10", ActionStatus.DONE, completed="2026-12-09T10:00")
    w.action(n2, "2026-12-20", ActionStatus.SIGNED_OFF, completed="2026-12-15T10:00")
    w.action(n2, "2026-12-20", ActionStatus.SIGNED_OFF, completed="2026-12-16T10:00")
    w.response(n2, "2026-12-02T10:00", None)

    sep = w.cycle(SEP)
    w.submit(w.audit(sep, 1, children["C7"]), "outstanding", "2026-09-20T10:00")
    old = w.cycle(Month(2025, 12))
    w.submit(w.audit(old, 1, children["C8"]), "inadequate", "2025-12-20T10:00")
    jan = w.cycle(Month(2027, 1))
    w.audit(jan, 1, children["C5"], status=AuditStatus.NOTIFIED)

    # Coverage on 8 January 2027: KW1 observed in December; TM1 13 months ago; KW2 and KW3 never.
    for ref, month, practitioner, done in [("OBS-1", "2025-11", "TM1", "2025-11-10T10:00"),
                                           ("OBS-2", "2026-12", "KW1", "2026-12-10T10:00"),
                                           ("OBS-3", "2026-12", "KW2", None)]:
        w.add(Observation(reference=ref, month=month, observer_id="QA1", practitioner_id=practitioner,
                          due_date=date(2026, 12, 31), status=ObservationStatus.DONE if done else
                          ObservationStatus.ASSIGNED, assigned_at=at("2026-12-01T09:00"),
                          done_at=at(done) if done else None))
    for kind, subject, month, detail in [
        ("practitioner_inadequate", "KW2", "2026-12", "Sam Patel: 2 consecutive audits graded Inadequate"),
        ("team_inadequate_share", "Bravo", "2026-12", "Bravo: 50% (2 of 4) of audits graded Inadequate"),
        ("practitioner_inadequate", "KW1", "2026-11", "An earlier month's flag"),
    ]:
        w.add(TrendFlag(kind=kind, subject_ref=subject, month=month, detail=detail, raised_at=at("2027-01-06T09:00")))
    session.commit()
    return {"dec": dec}


@pytest.fixture
def report(session: Session, world: dict) -> ReportData:
    return build_report_data(session, CTX, month=DEC)


def test_percentage_rounds_to_one_place_and_none_when_nothing_counted():
    assert [percentage(1, 3), percentage(2, 3), percentage(0, 4), percentage(0, 0)] == [33.3, 66.7, 0.0, None]


def test_overdue_band_edges():
    assert [overdue_band(n) for n in (0, 1, 5, 6, 10, 11)] == [
        None, BAND_1_5, BAND_1_5, BAND_6_10, BAND_6_10, BAND_OVER_10]


def test_report_month_cycle_fields(report):
    assert (report.month, report.month_label, report.as_at, report.theme, report.notes_markdown,
            report.empty) == ("2026-12", "December 2026", date(2027, 1, 8), "Neglect",
                              "Thanks to everyone who audited.", False)


def test_produced_on_is_the_real_date_not_the_simulated_clock(report):
    # The figures are as at the context's clock (8 January 2027); the report was produced today.
    assert report.generated_on == datetime.now(CTX.tz).date()
    assert report.generated_on != report.as_at


def test_headline_counts_on_time_and_final_grades(report):
    # A6 withdrawn; A5 has no form; only A1 and A2 were in by 17:00 on 31 December.
    # Final grades: A1 requires improvement (moderated), A2 outstanding, A3 inadequate, A4 good (pending).
    assert report.headline == Headline(allocated=5, completed=4, completed_on_time=2, good_or_better_pct=50.0,
                                       inadequate_pct=25.0)


def test_previous_is_november(report):
    assert report.previous == Headline(allocated=3, completed=2, completed_on_time=1, good_or_better_pct=50.0,
                                       inadequate_pct=50.0)


def test_trend_starts_at_the_first_month_with_data_oldest_first_gaps_kept(report):
    # Of the twelve months to December 2026, September is the first with a completed audit.
    assert [p.month for p in report.trend] == ["2026-09", "2026-10", "2026-11", "2026-12"]
    by_month = {p.month: p.headline for p in report.trend}
    assert by_month["2026-12"] == report.headline
    assert by_month["2026-11"] == report.previous
    assert by_month["2026-09"] == Headline(allocated=1, completed=1, completed_on_time=1, good_or_better_pct=100.0,
                                           inadequate_pct=0.0)
    assert [m for m, h in by_month.items() if h == ZERO_HEADLINE] == ["2026-10"]


def test_labels_in_framework_order(report):
    assert report.grade_labels == [O, G, RI, I]
    assert report.domains == list(DEFAULT_DOMAINS.values())


def test_domain_distribution_counts_current_grades_of_completed_audits(report):
    every = {O: 1, G: 1, RI: 1, I: 1}
    expected = {label: dict(every) for label in DEFAULT_DOMAINS.values()}
    expected[DEFAULT_DOMAINS["impact_outcomes"]] = {O: 1, G: 1, RI: 2, I: 0}
    assert report.domain_distribution == expected
    assert [list(grades) for grades in report.domain_distribution.values()] == [[O, G, RI, I]] * 8


def test_team_rows_sorted_by_service_then_team(report):
    assert report.teams == [
        TeamRow(service=CSC, team="Alpha", audits=2, grades={O: 1, G: 0, RI: 1, I: 0}, good_or_better_pct=50.0,
                inadequate_pct=0.0),
        TeamRow(service=CSC, team="Bravo", audits=2, grades={O: 0, G: 1, RI: 0, I: 1}, good_or_better_pct=50.0,
                inadequate_pct=50.0),
        TeamRow(service=EARLY_HELP, team="Charlie", audits=0, grades={O: 0, G: 0, RI: 0, I: 0},
                good_or_better_pct=None, inadequate_pct=None),
    ]
    assert [list(row.grades) for row in report.teams] == [[O, G, RI, I]] * 3


def test_moderation_agreement_and_changes(report):
    assert report.moderation == ModerationStats(selected=3, decided=2, agreed=1, agreement_rate=50.0,
                                                changes=[(G, RI, 1)], undecided=1)


def test_undecided_counts_audits_still_in_moderation_even_once_decided_by_the_panel(session, world):
    # A2's outstanding grade, agreed by the panel, waits for an assistant director: not final, so undecided.
    a2 = next(a for a in world["dec"].audits if a.reference == "A-2026-12-002")
    a2.status = AuditStatus.IN_MODERATION
    session.flush()

    assert build_report_data(session, CTX, month=DEC).moderation.undecided == 2


def test_family_counts_and_redacted_quotes(report):
    family = report.family
    assert (family.attempted, family.spoke, family.declined, family.unreachable, family.not_appropriate,
            family.interpreter_used) == (6, 3, 1, 1, 1, 1)
    assert family.quotes == ["Mother: Z. is happier, said X. M. (call [removed]).",
                             "Foster carer: Things are better at school."]


def test_good_practice_only_approved_monthly_summaries_redacted(report):
    assert report.good_practice == ["Strong direct work with the Q. family."]


def test_actions_within_timescale_bands_and_escalations(report):
    # Done at 16:59 on the due day counts; done at 17:30 on it does not; done ten days early counts.
    # Escalated: the actions at step 2 (service manager) and step 3 (assistant director), not 1 + 2 + 3 steps.
    assert (report.actions.raised, report.actions.completed_within_timescale,
            report.actions.escalated_to_senior) == (7, 2, 2)
    assert report.actions.overdue_by_band == {BAND_1_5: 1, BAND_6_10: 1, BAND_OVER_10: 1}
    assert list(report.actions.overdue_by_band) == [BAND_1_5, BAND_6_10, BAND_OVER_10]


def test_actions_bands_move_with_the_clock(session, world):
    later = build_report_data(session, ctx_at("2027-01-15T18:00"), month=DEC)
    # A week on: 6 (due 7 Jan), 11 (due 30 Dec), 18 (due 17 Dec) and 5 (due 8 Jan) working days overdue.
    assert later.actions.overdue_by_band == {BAND_1_5: 1, BAND_6_10: 1, BAND_OVER_10: 2}


def test_responses_same_day_within_24h_late_and_open_add_up(report):
    # IR-8 answered five hours on, IR-9 25 hours on (late), IR-10 still open.
    responses = report.responses
    assert (responses.raised, responses.same_day, responses.within_24h, responses.late, responses.outstanding) == (
        3, 1, 0, 1, 1)
    assert responses.late_responses == [LateResponse(reference="IR-9", case_id="C3", raised_at=at("2026-12-22T18:00"),
                                                     answered_at=at("2026-12-23T19:00"))]


@pytest.fixture
def figures_month(session: Session) -> Month:
    """A December whose Immediate Responses fall in every category, and whose actions climbed the ladder."""
    w = World(session)
    teams = _organisation(w)
    cycle = w.cycle(DEC)
    audit = w.audit(cycle, 1, w.child("C1", teams["Alpha"], "KW1"))
    other = w.audit(cycle, 2, w.child("C2", teams["Bravo"], "KW2"))
    for step in (0, 1, 2, 3, 3):
        w.action(audit, "2026-12-10", ActionStatus.OPEN, step=step)
    w.response(audit, "2026-12-14T09:00", "2026-12-14T16:00")  # IR-6: the same day
    w.response(audit, "2026-12-14T15:00", "2026-12-15T11:00")  # IR-7: the next morning, within 24 hours
    w.response(other, "2026-12-16T09:00", "2026-12-17T09:00")  # IR-8: at the deadline itself: within 24 hours
    w.response(audit, "2026-12-15T10:00", "2026-12-16T10:30")  # IR-9: half an hour late
    w.response(other, "2026-12-18T17:30", "2026-12-21T09:00")  # IR-10: over the weekend: 24 clock hours, late
    w.response(audit, "2026-12-17T10:00", None)                # IR-11: still open
    session.commit()
    return DEC


def test_immediate_responses_fall_in_four_categories_that_add_up_to_those_raised(session, figures_month):
    responses = build_report_data(session, CTX, month=figures_month).responses

    assert (responses.same_day, responses.within_24h, responses.late, responses.outstanding) == (1, 2, 2, 1)
    assert responses.same_day + responses.within_24h + responses.late + responses.outstanding == responses.raised == 6
    assert responses.late_responses == [
        LateResponse(reference="IR-9", case_id="C1", raised_at=at("2026-12-15T10:00"),
                     answered_at=at("2026-12-16T10:30")),
        LateResponse(reference="IR-10", case_id="C2", raised_at=at("2026-12-18T17:30"),
                     answered_at=at("2026-12-21T09:00")),
    ]


def test_escalated_to_senior_counts_actions_that_reached_a_service_manager(session, figures_month):
    default = build_report_data(session, CTX, month=figures_month).actions
    sooner = Settings(database_url="sqlite://", framework=FrameworkSettings(action_ladder=[
        LadderStep(after_working_days=1, notify=["owner", "service_manager"]),
        LadderStep(after_working_days=2, notify=["assistant_director"]),
    ]))
    never = Settings(database_url="sqlite://", framework=FrameworkSettings(action_ladder=[
        LadderStep(after_working_days=1, notify=["owner", "team_manager"]),
        LadderStep(after_working_days=5, notify=["qa_manager"])]))

    # Steps 0, 1, 2, 3, 3: the three at step 2 (service manager) or 3 (assistant director); not the 9 steps.
    assert default.escalated_to_senior == 3
    assert build_report_data(session, context_at(REPORT_NOW, sooner), month=figures_month).actions \
        .escalated_to_senior == 4
    assert build_report_data(session, context_at(REPORT_NOW, never), month=figures_month).actions \
        .escalated_to_senior == 0


def test_observations_assigned_done_and_coverage(report):
    assert (report.observations.assigned, report.observations.done, report.observations.coverage_pct,
            report.observations.due) == (2, 1, 25.0, 3)


def test_closing_the_loop_earlier_cycles_newest_first(report):
    assert report.closing_the_loop == [
        LoopRow(month="2026-11", theme="Neglect in adolescence", actions_raised=4, actions_open=1,
                actions_signed_off=2, actions_awaiting_sign_off=1),
        LoopRow(month="2026-09", theme=None, actions_raised=0, actions_open=0, actions_signed_off=0),
        LoopRow(month="2025-12", theme=None, actions_raised=0, actions_open=0, actions_signed_off=0),
    ]


def test_closing_the_loop_at_most_six_months(session):
    w = World(session)
    _organisation(w)
    for month in range(1, 10):
        w.cycle(Month(2026, month))
    session.commit()
    data = build_report_data(session, CTX, month=Month(2026, 9))
    assert [row.month for row in data.closing_the_loop] == [
        "2026-08", "2026-07", "2026-06", "2026-05", "2026-04", "2026-03"]


def test_restricted_flags_of_the_month_only(report):
    assert report.restricted_flags == [
        FlagRow(kind="Practitioner with consecutive inadequate audits", subject="Sam Patel",
                detail="Sam Patel: 2 consecutive audits graded Inadequate"),
        FlagRow(kind="Team with a high share of inadequate audits", subject="Bravo",
                detail="Bravo: 50% (2 of 4) of audits graded Inadequate"),
    ]


def test_a_followed_up_flag_shows_what_follows_by_whom_and_when(session, world):
    flag = session.scalars(select(TrendFlag).where(TrendFlag.subject_ref == "Bravo")).one()
    flag.followed_up_at, flag.followed_up_by_id = at("2027-01-08T10:00"), "QA1"
    flag.follow_up_contributed, flag.follow_up_outcome = "Caseloads too high", "learning_session"
    session.commit()

    data = build_report_data(session, CTX, month=DEC)

    assert [row.follow_up for row in data.restricted_flags] == [
        "Not yet followed up", f"A learning session: recorded by {session.get(Staff, 'QA1').name} on 08 January 2027"]


def test_grades_csv_one_row_per_completed_audit(report):
    assert report.grades_csv[0] == {
        "audit": "A-2026-12-001", "case_id": "C1", "team": "Alpha", "service": CSC, "kind": "dip sample",
        "overall": RI, **dict.fromkeys(DEFAULT_DOMAINS.values(), RI), "moderated": "yes", "on_time": "yes"}
    assert [(r["audit"], r["kind"], r["overall"], r["moderated"], r["on_time"], r["Impact and overall outcomes"])
            for r in report.grades_csv] == [
        ("A-2026-12-001", "dip sample", RI, "yes", "yes", RI),
        ("A-2026-12-002", "good practice", O, "yes", "yes", O),
        ("A-2026-12-003", "dip sample", I, "no", "no", RI),
        ("A-2026-12-004", "dip sample", G, "no", "no", G),
    ]


def test_actions_csv_one_row_per_action(report):
    assert [r["action"] for r in report.actions_csv] == [
        "A-2026-12-001-ACT1", "A-2026-12-001-ACT2", "A-2026-12-003-ACT3", "A-2026-12-003-ACT4",
        "A-2026-12-002-ACT5", "A-2026-12-002-ACT6", "A-2026-12-004-ACT7"]
    assert report.actions_csv[2] == {
        "action": "A-2026-12-003-ACT3", "audit": "A-2026-12-003", "case_id": "C3", "owner": "Sam Patel",
        "due": "2026-12-17", "status": "open", "escalation_step": "3", "completed": ""}
    assert report.actions_csv[5] == {
        "action": "A-2026-12-002-ACT6", "audit": "A-2026-12-002", "case_id": "C2", "owner": "Priya Shah",
        "due": "2026-12-18", "status": "signed off", "escalation_step": "0", "completed": "2026-12-18"}


def test_report_holds_no_child_or_family_details(report):
    text = repr(report)
    assert [value for value in PLANTED.values() if value in text] == []
    assert "Marplewoode" not in text and "Xanthippa" not in text


def test_provisional_until_moderation_closes(session, world):
    assert build_report_data(session, CTX, month=DEC).provisional is True
    world["dec"].moderation_closed_at = at("2027-01-15T18:00")
    session.commit()
    assert build_report_data(session, CTX, month=DEC).provisional is False


def test_same_database_same_report(session, world):
    assert build_report_data(session, CTX, month=DEC) == build_report_data(session, CTX, month=DEC)


def test_empty_month_with_no_cycle_has_zeros(session, world):
    data = build_report_data(session, CTX, month=OCT)
    assert (data.empty, data.provisional, data.theme, data.notes_markdown, data.month_label) == (
        True, False, None, None, "October 2026")
    assert data.headline == ZERO_HEADLINE
    assert data.previous == Headline(allocated=1, completed=1, completed_on_time=1, good_or_better_pct=100.0,
                                     inadequate_pct=0.0)
    # December 2025, inside these twelve months, is the first with a completed audit.
    assert [p.month for p in data.trend][0] == "2025-12" and [p.month for p in data.trend][-1] == "2026-10"
    assert (data.teams, data.grades_csv, data.actions_csv, data.good_practice, data.restricted_flags) == (
        [], [], [], [], [])
    assert data.moderation == ModerationStats(selected=0, decided=0, agreed=0, agreement_rate=None, changes=[])
    assert (data.family.attempted, data.family.quotes, data.actions.raised, data.responses.raised) == (0, [], 0, 0)
    assert data.domain_distribution == {label: {O: 0, G: 0, RI: 0, I: 0} for label in DEFAULT_DOMAINS.values()}
    assert [row.month for row in data.closing_the_loop] == ["2026-09", "2025-12"]


def test_empty_database_gives_empty_report(session):
    data = build_report_data(session, CTX, month=DEC)
    assert (data.empty, data.previous, data.headline, data.closing_the_loop) == (True, None, ZERO_HEADLINE, [])
    assert data.trend == []
    assert (data.observations.assigned, data.observations.coverage_pct, data.observations.due) == (0, None, 0)


def test_cycle_with_every_audit_withdrawn_is_empty(session):
    w = World(session)
    teams = _organisation(w)
    cycle = w.cycle(DEC, theme="Neglect")
    w.audit(cycle, 1, w.child("C1", teams["Alpha"], "KW1"), status=AuditStatus.WITHDRAWN)
    session.commit()
    data = build_report_data(session, CTX, month=DEC)
    assert (data.empty, data.theme, data.headline, data.teams) == (True, "Neglect", ZERO_HEADLINE, [])
