"""Hostile audit forms, free-text CLI arguments and report notes, and what they become on the way out.

One seeded authority per test: forms go in through `auditcycle submit`, mail goes out to a real
SMTP server on loopback, and the report is rendered from the same database. Every received
message is checked raw for injected headers and live markup; the report's HTML and CSV for
unescaped markup and live formulae.
"""
import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import PLANTED, QA_MANAGER
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import DEFAULT_DOMAINS, get_settings
from auditcycle.models import Audit, Staff
from auditcycle.models.enums import Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.report.data import build_report_data
from auditcycle.report.render import csv_text, render_html
from auditcycle.sampling.cycle import draw
from hostile.checks import assert_ok, assert_refused, assert_safe_mail, fingerprint, invoke
from hostile.corpus import BIG_TEXT, HEADER_INJECTION, SCRIPT

FORM_KIND = "Form JSON"
ARGS_KIND = "CLI free text"
NOTES_KIND = "Report notes (Markdown)"
TODAY = date(2026, 12, 14)
NOW = "2026-12-14T10:00"
FORMULA = '=HYPERLINK("http://evil.example/","click")'
HOSTILE_NAME = f"{FORMULA} {SCRIPT} O'Brien & \"Co\""
PLANTED_TEXT = tuple(PLANTED.values())


def valid_form(owner: str, **changes) -> dict:
    """Return a complete, valid form whose one action falls due in a week."""
    form = {
        "grades": {d: "good" for d in DEFAULT_DOMAINS}, "overall": "good",
        "strengths": "Clear recording.", "practitioner_feedback": "Reflective.",
        "family_feedback": [{"relationship": "mother", "outcome": "spoke", "interpreter_used": False,
                             "summary": "Felt heard."}],
        "actions": [{"description": "Update the chronology", "owner_id": owner,
                     "due": (TODAY + timedelta(days=7)).isoformat()}],
        "immediate_response": None, "disagreement": False,
    }
    form.update(changes)
    return form


def _action(owner: str, **changes) -> list[dict]:
    return [{"description": "Update the chronology", "owner_id": owner,
             "due": (TODAY + timedelta(days=7)).isoformat()} | changes]


def form_cases(owner: str) -> list[tuple[str, bytes, bool, tuple[str, ...]]]:
    """Return (name, file bytes, refused?, fragments the error must name) for every hostile form."""
    def js(**changes) -> bytes:
        return json.dumps(valid_form(owner, **changes)).encode()

    good = js()
    cases = [
        ("valid", good, False, ()),
        ("utf8_bom", b"\xef\xbb\xbf" + good, False, ()),
        ("script_and_html_in_free_text", js(strengths=SCRIPT + "<img src=x onerror=alert(1)>",
                                            practitioner_feedback="<b>bold</b>",
                                            actions=_action(owner, description=f"Check {SCRIPT} &amp; <i>it</i>")),
         False, ()),
        ("formula_in_action", js(actions=_action(owner, description=FORMULA)), False, ()),
        ("line_breaks_in_action", js(actions=_action(owner, description=HEADER_INJECTION)), False, ()),
        ("strengths_at_limit", js(strengths="s" * 10_000), False, ()),
        # Right-to-left script, emoji and joiners are text; free text keeps them.
        ("unicode_rtl_and_joiners", js(strengths="Naïve café 👍 עברית عربى 👩\u200d👧 no\u200bbreak"), False, ()),
        ("bidi_override_in_strengths", js(strengths="Naïve café \u202eevil\u202c"), True,
         ("strengths", "bidirectional control character (U+202E")),
        ("bidi_isolate_in_summary", js(family_feedback=[{"relationship": "mother", "outcome": "spoke",
                                                         "summary": "ok \u2066x\u2069"}]), True,
         ("family_feedback.0.summary", "bidirectional control character (U+2066")),
        ("bidi_embedding_in_action", js(actions=_action(owner, description="\u202bcall\u202c")), True,
         ("actions.0.description", "bidirectional control character (U+202B")),
        ("bidi_in_relationship", js(family_feedback=[{"relationship": "mo\u202dther", "outcome": "spoke"}]), True,
         ("family_feedback.0.relationship", "bidirectional control character (U+202D")),
        ("zero_width_in_owner", js(actions=_action(owner, owner_id=owner + "\u200b")), True,
         ("actions.0.owner_id", "invisible character (U+200B")),
        ("bom_inside_relationship", js(family_feedback=[{"relationship": "mo\ufeffther", "outcome": "spoke"}]), True,
         ("family_feedback.0.relationship", "invisible character (U+FEFF")),
        ("utf16", json.dumps(valid_form(owner)).encode("utf-16"), True, ("not UTF-8",)),
        ("latin1", json.dumps(valid_form(owner, strengths="café"), ensure_ascii=False).encode("latin-1"), True,
         ("not UTF-8",)),
        ("invalid_utf8", good.replace(b"Clear", b"Cl\xc3\x28ar"), True, ("not UTF-8",)),
        ("empty", b"", True, ("not valid JSON", "line 1")),
        ("trailing_garbage", good + b"}", True, ("not valid JSON",)),
        ("array", b"[1, 2]", True, ("must be a JSON object",)),
        ("string", b'"good"', True, ("must be a JSON object",)),
        ("null", b"null", True, ("must be a JSON object",)),
        ("duplicate_key", good[:-1] + b', "overall": "inadequate"}', True, ("'overall' appears twice",)),
        ("nested_100k_arrays", b"[" * 100_000 + b"]" * 100_000, True, ("nested too deeply",)),
        ("nested_in_strengths", b'{"strengths": ' + b"{\"a\": " * 50_000 + b"1" + b"}" * 50_001, True,
         ("nested too deeply",)),
        ("integer_of_5000_digits", good[:-1] + b', "disagreement": ' + b"9" * 5000 + b"}", True,
         ("not a usable JSON form",)),
        ("ten_mb_file", js(strengths=BIG_TEXT), True, ("at most 2,000,000",)),
        ("strengths_over_limit", js(strengths="s" * 10_001), True, ("strengths", "at most 10000")),
        ("nul_in_strengths", js(strengths="a\u0000b"), True, ("strengths", "control character")),
        ("escape_in_summary", js(family_feedback=[{"relationship": "mother", "outcome": "spoke",
                                                   "summary": "\u001b[2J"}]), True,
         ("family_feedback.0.summary", "control character")),
        ("lone_surrogate", good.replace(b"Clear", b"\\ud800Clear"), True, ("strengths",)),
        ("relationship_header_injection", js(family_feedback=[{"relationship": "mother\r\nBcc: v@example.com",
                                                               "outcome": "spoke"}]), True,
         ("family_feedback.0.relationship", "one line")),
        ("owner_header_injection", js(actions=_action(owner, owner_id=owner + "\r\nBcc: v@example.com")), True,
         ("actions.0.owner_id",)),
        ("actions_not_a_list", js(actions=5), True, ("actions", "valid list")),
        ("grade_is_a_list", js(grades={d: ["good"] for d in DEFAULT_DOMAINS}), True, ("grades.assessment",)),
        ("grade_is_an_object", js(grades={d: {"a": 1} for d in DEFAULT_DOMAINS}), True, ("grades.assessment",)),
        ("grades_missing", js(grades={}), True, ("grades.assessment", "not graded")),
        ("unknown_grade", js(grades={d: "excellent" for d in DEFAULT_DOMAINS}), True, ("is not a grade",)),
        ("unknown_domain", js(grades={d: "good" for d in DEFAULT_DOMAINS} | {"astrology": "good"}), True,
         ("grades.astrology",)),
        ("overall_not_text", js(overall=["good"]), True, ("overall",)),
        ("overall_10k", js(overall="x" * 10_000), True, ("overall", "is not a grade")),
        ("unknown_key", js(colour="blue"), True, ("colour", "Extra inputs")),
        ("nan", good[:-1] + b', "disagreement": NaN}', True, ("disagreement",)),
        ("infinity_due", js(actions=_action(owner, due=float("inf"))), True, ("actions.0.due",)),
        ("due_year_0", js(actions=_action(owner, due="0000-01-01")), True, ("actions.0.due",)),
        ("due_year_9999", js(actions=_action(owner, due="9999-12-31")), True, ("actions.0.due", "more than 31 days")),
        ("due_31_february", js(actions=_action(owner, due="2027-02-31")), True, ("actions.0.due",)),
        ("due_before_submission", js(actions=_action(owner, due="2026-11-30")), True,
         ("actions.0.due", "not after the submission date")),
        ("due_uk_format", js(actions=_action(owner, due="20/12/2026")), True, ("actions.0.due",)),
        ("due_number", js(actions=_action(owner, due=20261220)), True, ("actions.0.due",)),
        # Lax parsing read 0 as 1970-01-01 and a midnight date-time as its date, past the 31-day rule.
        ("due_number_zero", js(actions=_action(owner, due=0)), True, ("actions.0.due", "a number, not a date")),
        ("due_date_time", js(actions=_action(owner, due="2100-01-01T00:00")), True,
         ("actions.0.due", "a date and time, not a date")),
        ("due_week_form", js(actions=_action(owner, due="2026-W52-1")), True, ("actions.0.due", "not a date")),
        ("due_true", js(actions=_action(owner, due=True)), True, ("actions.0.due", "true, not a date")),
        ("owner_unknown", js(actions=_action(owner, owner_id="S404")), True, ("actions.0.owner_id", "not a known")),
        ("too_many_actions", js(actions=_action(owner) * 51), True, ("actions", "at most 50")),
        ("feedback_100k_items", js(family_feedback=[{}] * 100_000), True, ("family_feedback", "at most 20")),
        ("outcome_unknown", js(family_feedback=[{"relationship": "mother", "outcome": "maybe"}]), True,
         ("family_feedback.0.outcome",)),
        ("ir_reason_empty", js(immediate_response={"reason": ""}), True, ("immediate_response.reason",)),
        ("disagreement_number", js(disagreement=7), True, ("disagreement",)),
    ]
    return cases


@pytest.fixture
def month(authority, smtp_env):
    """A drawn and notified month on a seeded authority, with hostile names on the first audit's people."""
    settings = get_settings()
    factory = sessionmaker(bind=authority, expire_on_commit=False)
    with factory() as s:
        draw(s, build_context("2026-11-23T09:00", settings=settings), month=Month(2026, 12), size=3, seed=2)
        s.commit()
        cycle = s.scalars(select(Audit)).first().cycle
        queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=cycle)
        s.commit()
        audits = list(s.scalars(select(Audit).order_by(Audit.id)))
        audit = audits[0]
        people = {"auditor": audit.auditor_id, "key_worker": audit.child.key_worker_id,
                  "qa": s.scalars(select(Staff.id).where(Staff.role == Role.QA_MANAGER).order_by(Staff.id)).first(),
                  "ref": audit.reference, "other_ref": audits[1].reference}
    deliver(engine=authority, settings=settings)
    smtp_env.received.clear()
    return people


def _rename(engine, tmp_path: Path, staff_id: str, name: str) -> None:
    """Give a member of staff a hostile name through the real staff import."""
    with sessionmaker(bind=engine)() as s:
        p = s.get(Staff, staff_id)
        manager = p.manager_id or ""
        team = p.team.name if p.team else ""
        service = p.service.name if p.service else (p.team.service.name if p.team else "")
        row = [p.id, name, p.email, p.role.value, team, service, manager, "yes" if p.auditor else "no",
               "yes" if p.newly_qualified else "no"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["staff_id", "name", "email", "role", "team", "service", "manager_id", "auditor",
                     "newly_qualified"])
    writer.writerow(row)
    path = tmp_path / "rename.csv"
    path.write_text(buffer.getvalue())
    assert_ok(invoke("import", "staff", str(path), "--now", "2026-12-01T09:00"))


def _new_mail(server, seen: int) -> list[bytes]:
    return [m.data for m in server.received[seen:]]


def test_hostile_forms_and_free_text_are_refused_cleanly_or_escaped_on_the_way_out(
        authority, smtp_env, month, tmp_path, tally) -> None:
    _rename(authority, tmp_path, month["key_worker"], HOSTILE_NAME)
    server = smtp_env

    def submit(case) -> str:
        name, content, refused, says = case
        path = tmp_path / f"{name}.json"
        path.write_bytes(content)
        before, seen = fingerprint(authority), len(server.received)
        result = invoke("submit", month["ref"], str(path), "--by", month["auditor"], "--now", NOW)
        path.unlink()
        if refused:
            assert_refused(result, authority, before, (path.name, *says))
            assert not _new_mail(server, seen)
            return "rejected"
        assert_ok(result)
        for raw in _new_mail(server, seen):
            assert_safe_mail(raw, PLANTED_TEXT)
        return "accepted"

    tally.run(FORM_KIND, form_cases(month["key_worker"]), submit)
    # The accepted forms did reach people, with the markup from the form and the names shown as text.
    htmls = [part.get_content() for m in server.received for part in m.message.walk()
             if part.get_content_type() == "text/html"]
    assert any("&lt;script&gt;alert(" in h for h in htmls)
    assert any("=HYPERLINK(&#34;http://evil.example/&#34;" in h or "=HYPERLINK(&quot;http://evil.example/&quot;" in h
               for h in htmls)

    # The last accepted form's action carries a formula; the report must show it as text.
    formula_form = json.dumps(valid_form(month["key_worker"], actions=_action(month["key_worker"],
                                                                            description=FORMULA)))
    (tmp_path / "final.json").write_text(formula_form)
    assert_ok(invoke("submit", month["ref"], str(tmp_path / "final.json"), "--by", month["auditor"], "--now", NOW))

    def free_text(case) -> str:
        name, args, refused, says = case
        before, seen = fingerprint(authority), len(server.received)
        result = invoke(*args)
        if refused:
            assert_refused(result, authority, before, says)
            return "rejected"
        assert_ok(result)
        for raw in _new_mail(server, seen):
            assert_safe_mail(raw, PLANTED_TEXT)
        return "accepted"

    hostile = f"{HEADER_INJECTION} {SCRIPT} {FORMULA}"
    kw, auditor, qa, ref = month["key_worker"], month["auditor"], month["qa"], month["ref"]
    tally.run(ARGS_KIND, [
        ("dispute_note_hostile", ("dispute", ref, "--by", kw, "--note", hostile, "--now", NOW), False, ()),
        ("dispute_note_blank", ("dispute", ref, "--by", kw, "--note", " \r\n ", "--now", NOW), True,
         ("--note is required",)),
        ("dispute_by_header_injection", ("dispute", ref, "--by", kw + "\r\nBcc: v@example.com", "--note", "x",
                                         "--now", NOW), True, ("no member of staff",)),
        ("raise_ir_reason_hostile", ("raise-ir", ref, "--by", auditor, "--reason", hostile, "--now", NOW), False, ()),
        ("raise_ir_reason_100kb", ("raise-ir", ref, "--by", auditor, "--reason", "r" * 100_000, "--now", NOW),
         False, ()),
        ("withdraw_reason_hostile", ("withdraw", month["other_ref"], "--by", qa, "--reason", hostile,
                                     "--now", NOW), False, ()),
        ("audit_ref_header_injection", ("withdraw", ref + "\r\nBcc: v@example.com", "--by", qa, "--reason", "x",
                                        "--now", NOW), True, ("no audit",)),
        ("audit_ref_100kb", ("withdraw", "A" * 100_000, "--by", qa, "--reason", "x", "--now", NOW), True, ()),
    ], free_text)

    settings = get_settings()
    with sessionmaker(bind=authority)() as s:
        data = build_report_data(s, build_context("2026-12-15T09:00", settings=settings), month=Month(2026, 12))
    html = render_html(data)
    # The broadcast report shows no free text or staff names of an audit; none may arrive as markup.
    assert "<script" not in html.lower() and HOSTILE_NAME not in html
    cells = [cell for row in csv.reader(io.StringIO(csv_text(data.actions_csv))) for cell in row]
    assert f"'{HOSTILE_NAME}" in cells and HOSTILE_NAME not in cells
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)

    def notes(case) -> str:
        name, content, refused, says = case
        path = tmp_path / f"{name}.md"
        path.write_bytes(content)
        before = fingerprint(authority)
        result = invoke("report", "notes", str(path), "--month", "2026-12", "--by", QA_MANAGER)
        if refused:
            assert_refused(result, authority, before, (path.name, *says))
            return "rejected"
        assert_ok(result)
        with sessionmaker(bind=authority)() as s:
            rendered = render_html(build_report_data(s, build_context("2026-12-15T09:00", settings=settings),
                                                     month=Month(2026, 12)))
        lowered = rendered.lower()
        assert "<script" not in lowered and 'href="javascript:' not in lowered and "<img" not in lowered
        if name == "raw_script":
            assert "&lt;script&gt;alert(" in rendered
        return "accepted"

    tally.run(NOTES_KIND, [
        ("plain", b"## Findings\n\nVoices were **clear**.\n", False, ()),
        ("utf8_bom", b"\xef\xbb\xbf## Findings\n", False, ()),
        ("raw_script", f"Before\n\n{SCRIPT}\n\n<img src=x onerror=alert(1)>\n".encode(), False, ()),
        ("javascript_link", b"[click](javascript:alert(1)) and <javascript:alert(2)>\n", False, ()),
        ("image_fetch", b"![x](http://evil.example/pixel.png)\n", False, ()),
        ("deep_blockquotes", b">" * 10_000 + b" deep\n", False, ()),
        ("deep_lists", b"".join(b"  " * i + b"- x\n" for i in range(250)), False, ()),
        ("formula_lines", f"{FORMULA}\n+1\n@SUM(A1)\n".encode(), False, ()),
        ("at_limit_100k", b"n" * 100_000, False, ()),
        ("over_limit", b"n" * 100_001, True, ("at most 100,000",)),
        ("ten_mb", BIG_TEXT.encode(), True, ("at most 100,000",)),
        ("nul_byte", b"Findings\n\x00\n", True, ("line 2", "control character")),
        ("utf16", "## Findings\n".encode("utf-16"), True, ("not UTF-8",)),
        ("latin1", "Café\n".encode("latin-1"), True, ("not UTF-8",)),
    ], notes)
