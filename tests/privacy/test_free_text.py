"""What staff type never carries a child's identity out: every free-text field, planted, through a month.

Every child and family contact is given awkward names (accents, a double first name, a hyphenated
surname) and one date of birth. The same careless text, naming them in other spellings, giving the
birth date in every common UK form, phone numbers in several formats and a family email address, is
typed into every free-text field the project has: the month's theme, withdraw and replace reasons,
Immediate Response reasons and answers, action descriptions, done and sign-off notes, dispute and
moderation notes, strengths, feedback, family feedback, observation notes, Make a Difference texts and
the report's notes. A month is replayed through the real flows, then every place the software writes to
is searched. The text is stored as written; none of it may leave unredacted, and a due date typed
beside it must survive.
"""
import re
import unicodedata
from datetime import date
from pathlib import Path

from conftest import PREFECT_HOME, QA_MANAGER
from factories import approve_list_at
from privacy_checks import _dump_sqlite
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import (
    Action,
    Audit,
    AuditCycle,
    Child,
    Event,
    FamilyContact,
    ImmediateResponse,
    OutboxMessage,
    PhaseRun,
    Staff,
    Submission,
    SupervisionGap,
    TrailEntry,
)
from auditcycle.models.enums import ActionStatus, AuditStatus, CycleKind, ResponseTrigger
from auditcycle.storage.db import session_scope

MONTH = Month(2026, 12)
NEXT = "2027-01"
FIRST, LAST, CONTACT = "Oisín Zorabelle", "Vexworth-Plumtree", "Siobhán Quorrell-Dunphy"
BORN = "2013-02-17"
DUE_TYPED = "15 January 2027"
PLANT = ("Oisin (OISÍN, " + unicodedata.normalize("NFD", "Oisín") + ") Zorabelle VEXWORTH-PLUMTREE, "
         "Vexworth Plumtree, born 17/02/2013 (17-02-2013, 17.02.13, 17th February 2013, 17 Feb 2013, "
         "February 17th, 2013, 2013-02-17); Siobhan Quorrell Dunphy on 0808 157 0000, +44 (0)808 157 0000, "
         f"07700900461 or 020-7946-0018, mum.home@example.org. Review by {DUE_TYPED}.")
THEME = "Oisin Zorabelle Vexworth Plumtree b. 17.02.13: Siobhan on 07700900461"
# Searched for in every place, folded (accents off, lower case) as whole words.
NAME_WORDS = ("oisin", "zorabelle", "vexworth", "plumtree", "vexworthplumtree", "siobhan", "quorrell", "dunphy",
              "quorrelldunphy")
DATES = ("17/02/2013", "17-02-2013", "17.02.13", "17th february 2013", "17 feb 2013", "february 17th, 2013",
         "2013-02-17")
PHONES = (r"808\D{0,4}157\D{0,3}0000", r"7700\D{0,3}900\D{0,3}461", r"20\D{0,3}7946\D{0,3}0018")


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def _leaks(text: str) -> list[str]:
    """Return what of the planted identity a text still holds."""
    folded = _fold(text)
    found = [w for w in NAME_WORDS if re.search(rf"(?<!\w){w}(?!\w)", folded)]
    found += [d for d in DATES if d in folded]
    found += [p for p in PHONES if re.search(p, folded)]
    return found + (["mum.home@example.org"] if "mum.home@example.org" in folded else [])


def _plant_identities(engine) -> None:
    with sessionmaker(bind=engine).begin() as s:
        s.execute(update(Child).values(first_name=FIRST, last_name=LAST,
                                       date_of_birth=Month.parse("2013-02").first_day.replace(day=17)))
        s.execute(update(FamilyContact).values(name=CONTACT))


def _texts():
    from auditcycle.demo.replay import Texts

    return Texts(themes=(THEME,), actions=(PLANT,), strengths=(PLANT,), feedback=(PLANT,), family_summary=PLANT,
                 ir_reasons=(PLANT, PLANT), ir_answer=PLANT, supervision_answer=PLANT, gap_confirmed=PLANT,
                 gap_dismissed=PLANT, dispute_note=PLANT,
                 moderation_changed=PLANT, moderation_agreed=PLANT, observation_note=PLANT, done_note=PLANT,
                 sign_off_note=PLANT)


def _replay(texts) -> None:
    from auditcycle.cli import deliver_queued
    from auditcycle.cli.demo import _replay_settings, _run_phase
    from auditcycle.demo.replay import replay_month

    with _replay_settings():
        replay_month(MONTH, seed=5, run_phase=_run_phase, deliver=deliver_queued, texts=texts)


def _the_acts_the_replay_does_not(folder: Path) -> None:
    """Replace, withdraw, raise and answer, reopen an action, nominate, write the notes, export case notes."""
    from auditcycle.actions.ladder import mark_done, sign_off
    from auditcycle.cli import deliver_queued
    from auditcycle.flows.book import book
    from auditcycle.flows.deep_dive import deep_dive
    from auditcycle.flows.notify import notify
    from auditcycle.flows.report import report
    from auditcycle.flows.sample import sample
    from auditcycle.immediate_responses.lifecycle import raise_ir, respond
    from auditcycle.learning.culture import nominate_interview
    from auditcycle.people.directory import service_managers_for
    from auditcycle.report.notes import store_notes
    from auditcycle.sampling.cycle import replace, withdraw
    from auditcycle.sampling.requests import Asked, store_request
    from auditcycle.submissions.case_notes import export_case_notes

    with session_scope() as s:
        theme = store_request(s, build_context("2026-12-21T06:00"), by=QA_MANAGER,
                              asked=Asked(kind=CycleKind.MONTHLY, theme=THEME))
        dive = store_request(s, build_context("2026-12-21T06:00"), by=QA_MANAGER, asked=Asked(
            kind=CycleKind.DEEP_DIVE, theme=THEME, reason=PLANT, size=2, due=date(2027, 1, 8)))
    sample(month=NEXT, now="2026-12-21T07:00", request=theme, by=QA_MANAGER)
    deep_dive(request=dive)
    with session_scope() as s:
        first, second = s.scalars(select(Audit.reference).join(AuditCycle).where(AuditCycle.month == NEXT)
                                  .order_by(Audit.reference).limit(2))
        replace(s, build_context("2026-12-21T08:00"), reference=first, by=QA_MANAGER, reason=PLANT)
        approve_list_at(s, "2026-12-21T08:30", NEXT)
    notify(month=NEXT, now="2026-12-21T09:00", by=QA_MANAGER)
    book(month=NEXT, now="2026-12-21T10:00", by=QA_MANAGER)
    with session_scope() as s:
        ctx = build_context("2026-12-21T11:00")
        withdraw(s, ctx, reference=second, by=QA_MANAGER, reason=PLANT)
        third = s.scalar(select(Audit).join(AuditCycle).where(AuditCycle.month == NEXT,
                                                              Audit.status == AuditStatus.BOOKED)
                         .order_by(Audit.reference).limit(1))
        ir = raise_ir(s, ctx, reference=third.reference, by=third.auditor_id, reason=PLANT)
        respond(s, build_context("2026-12-21T12:00"), reference=ir.reference,
                by=service_managers_for(s, third.child)[0].id, note=PLANT)
    deliver_queued()
    with session_scope() as s:
        ctx = build_context("2027-01-20T10:00")
        action = s.scalar(select(Action).where(Action.status == ActionStatus.OPEN).order_by(Action.id).limit(1))
        mark_done(s, ctx, reference=action.reference, by=action.owner_id, note=PLANT)
        sign_off(s, build_context("2027-01-20T11:00"), reference=action.reference,
                 by=action.owner.manager_id or QA_MANAGER, quality="not_met", note=PLANT)
        nominator = s.get(Staff, action.owner.manager_id or QA_MANAGER)
        nominate_interview(s, ctx, practitioner_id=action.owner_id, by=nominator.id, note=PLANT)
        store_notes(s, month=MONTH, text=f"## Findings\n\n{PLANT}\n", by=QA_MANAGER)
        export_case_notes(s, ctx, month=MONTH, folder=folder)
    deliver_queued()
    report(month=str(MONTH), now="2027-01-20T12:00", reissue=True, by=QA_MANAGER)


def _files(folder: Path) -> str:
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".pdf":
            out.append("\n".join(page.extract_text() for page in PdfReader(path).pages))
        elif ".db" not in path.name:  # the databases are the record, stored as written
            out.append(path.read_text("utf-8", "replace"))
    return "\n".join(out)


def _places(engine, smtp_server, prefect_db: str, console: str, folder: Path) -> dict[str, str]:
    with sessionmaker(bind=engine)() as s:
        stored = "\n".join(f"{m.subject}\n{m.body_text}\n{m.body_html}\n{m.calendar or ''}"
                           for m in s.scalars(select(OutboxMessage)))
        events = "\n".join(e.detail for e in s.scalars(select(Event)))
        runs = "\n".join(f"{r.summary} {r.error or ''}" for r in s.scalars(select(PhaseRun)))
        trail = "\n".join(f"{t.changes}" for t in s.scalars(select(TrailEntry)))
    return {
        "stored mail": stored,
        "received mail (decoded)": "\n".join(
            part.get_content() for r in smtp_server.received for part in r.message.walk()
            if part.get_content_maintype() == "text"),
        "received mail (raw)": b"\n".join(r.data for r in smtp_server.received).decode("utf-8", "replace"),
        "event details": events,
        "phase runs": runs,
        "audit trail": trail,
        "reports, extracts and case notes": _files(folder),
        "console and logs": console,
        "Prefect database": _dump_sqlite(prefect_db),
        "Prefect home": _files(PREFECT_HOME),
    }


def test_free_text_planted_in_every_field_leaves_only_through_the_redactor(authority, smtp_env, prefect_harness,
                                                                          capfd, tmp_path) -> None:
    _plant_identities(authority)
    _replay(_texts())
    _the_acts_the_replay_does_not(tmp_path / "case-notes")
    places = _places(authority, smtp_env, prefect_harness, "\n".join(capfd.readouterr()), tmp_path)

    # The text is the council's record, stored as written ...
    with sessionmaker(bind=authority)() as s:
        assert s.scalar(select(Submission.strengths).limit(1)) == PLANT
        assert s.scalar(select(ImmediateResponse.reason).where(
            ImmediateResponse.trigger == ResponseTrigger.SAFEGUARDING_CONCERN).limit(1)) == PLANT
        assert set(s.scalars(select(SupervisionGap.reason).where(SupervisionGap.reason.is_not(None)))) == {PLANT}
    # ... the places searched hold the month (mail, the report, case notes, events) ...
    mail = places["received mail (decoded)"]
    with sessionmaker(bind=authority)() as s:
        assert s.scalar(select(AuditCycle.reason).where(AuditCycle.kind == CycleKind.DEEP_DIVE)) == PLANT
    assert len(smtp_env.received) > 100 and "[removed]" in mail and "withdrawn" in mail.lower()
    assert "Findings" in places["reports, extracts and case notes"]
    assert list((tmp_path / "case-notes").glob("*.txt"))
    assert "[removed]" in places["event details"]
    # ... and a due date typed beside the planted identity survives the redactor.
    assert DUE_TYPED in " ".join(mail.split())
    leaks = {where: _leaks(text) for where, text in places.items()}
    found = {where: found for where, found in leaks.items() if found}
    assert found == {}
