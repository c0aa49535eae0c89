"""Hostile command-line arguments: months, clocks, ids, sizes, dates and enum values, refused before anything is written."""
from pathlib import Path

import pytest

from auditcycle.storage.db import get_engine
from hostile.checks import assert_ok, assert_refused, fingerprint, invoke
from hostile.corpus import NOW

KIND = "CLI arguments"
BASE_STAFF = """staff_id,name,email,role,team,service,manager_id,auditor,newly_qualified
S1,Alice Ames,alice@example.org,service_manager,,Svc,,yes,no
S2,Bob Brown,bob@example.org,team_manager,Team A,Svc,S1,yes,no
S3,Cara Cole,cara@example.org,key_worker,Team A,Svc,S2,no,no
Q1,Quinn Quail,quinn@example.org,qa_manager,,,,yes,no
"""
LONG = "A" * 100_000  # near the 128 KiB a single argument may be on Linux
CRLF = "\r\nBcc: victim@example.com"
ADHOC = ("deep-dive", "--theme", "Neglect", "--size", "2", "--due", "2026-12-04", "--by", "Q1", "--now", NOW)


def _with(args: tuple[str, ...], option: str, value: str) -> tuple[str, ...]:
    index = args.index(option)
    return (*args[: index + 1], value, *args[index + 2:])


# (name, arguments, outcome, fragments): outcome is "ok", "refused" (our error) or "usage" (a check at parsing,
# typer's own or the --month and date parsers of auditcycle.cli, exit 2).
CASES = [
    ("month_valid", ("list", "audits", "--month", "2026-12"), "ok", ()),
    ("month_13", ("list", "audits", "--month", "2026-13"), "usage", ("'2026-13'", "YYYY-MM")),
    ("month_00", ("list", "audits", "--month", "2026-00"), "usage", ("YYYY-MM",)),
    ("month_year_0", ("list", "audits", "--month", "0000-01"), "usage", ("YYYY-MM",)),
    ("month_year_9999", ("list", "audits", "--month", "9999-12"), "usage", ("YYYY-MM",)),
    ("month_empty_means_default", ("list", "audits", "--month", ""), "ok", ()),
    ("month_crlf", ("list", "audits", "--month", "2026-12" + CRLF), "usage", ("YYYY-MM",)),
    ("month_100kb", ("list", "audits", "--month", LONG), "usage", ("YYYY-MM",)),
    ("month_fullwidth_digits", ("list", "audits", "--month", "２０２６-１２"), "ok", ()),
    ("now_garbage", ("list", "audits", "--now", "garbage"), "refused", ("'garbage'", "ISO date-time")),
    ("now_empty", ("list", "audits", "--now", ""), "refused", ("ISO date-time",)),
    ("now_year_1", ("list", "audits", "--now", "0001-01-01T00:00"), "refused", ("outside the years 2000 to 2100",)),
    ("now_year_9999", ("list", "audits", "--now", "9999-12-31T23:59"), "refused", ("outside the years",)),
    ("now_year_9999_utc", ("list", "audits", "--now", "9999-12-31T23:59+00:00"), "refused", ("outside the years",)),
    ("now_30_february", ("list", "audits", "--now", "2026-02-30T09:00"), "refused", ("ISO date-time",)),
    ("now_spring_gap", ("list", "audits", "--now", "2026-03-29T01:30"), "refused", ("does not exist",)),
    ("now_offset_25h", ("list", "audits", "--now", "2026-12-01T09:00+25:00"), "refused", ("ISO date-time",)),
    ("now_crlf", ("list", "audits", "--now", "2026-12-01T09:00" + CRLF), "refused", ("ISO date-time",)),
    ("now_100kb", ("list", "audits", "--now", LONG), "refused", ("ISO date-time",)),
    ("now_date_only", ("list", "audits", "--now", "2026-12-01"), "ok", ()),
    ("now_utc", ("list", "audits", "--now", "2026-12-01T09:00Z"), "ok", ()),
    ("list_unknown_kind", ("list", "wizards"), "usage", ()),
    ("run_unknown_phase", ("run", "teleport"), "usage", ()),
    ("run_unknown_cohort", ("run", "sample", "--cohort", "martian"), "usage", ()),
    ("run_size_not_a_number", ("run", "sample", "--size", "lots"), "usage", ()),
    ("run_by_unknown", ("run", "sample", "--by", "NOBODY" + CRLF, "--now", NOW), "refused", ("no member of staff",)),
    ("run_by_100kb", ("run", "sample", "--by", LONG, "--now", NOW), "refused", ("no member of staff",)),
    ("seed_children_negative", ("seed-demo", "--children", "-5"), "usage", ()),
    ("import_missing_file", ("import", "staff", "/nonexistent/staff.csv"), "refused", ("no such file",)),
    ("import_wrong_suffix", ("import", "availability", "busy.txt"), "refused", ("expected a .csv or .ics",)),
    ("nominate_unknown_child", ("nominate", "C404" + CRLF, "--by", "S1", "--month", "2026-12", "--reason", "Clear plan",
                                "--now", NOW),
     "refused", ("no child has that case id",)),
    ("nominate_month_13", ("nominate", "C1", "--by", "S1", "--month", "2026-13", "--now", NOW), "usage",
     ("YYYY-MM",)),
    ("withdraw_unknown_audit", ("withdraw", LONG, "--by", "Q1", "--reason", "x", "--now", NOW), "refused",
     ("no audit has that reference",)),
    ("reschedule_unknown_meeting", ("reschedule", "M-1" + CRLF, "--by", "Q1", "--now", NOW), "refused",
     ("no meeting has that reference",)),
    ("respond_unknown_response", ("respond", "IR-1", "--by", "S1", "--note", "x", "--now", NOW), "refused",
     ("no Immediate Response",)),
    ("action_done_unknown", ("action", "done", "ACT-1", "--by", "S3", "--now", NOW), "refused", ("no action",)),
    ("sign_off_bad_quality", ("action", "sign-off", "ACT-1", "--by", "S2", "--quality", "great", "--note", "x"),
     "refused", ("no action",)),
    ("export_month_garbage", ("export", "case-notes", "--month", "x"), "usage", ("YYYY-MM",)),
    ("deep_dive_size_0", _with(ADHOC, "--size", "0"), "refused", ("--size 0",)),
    ("deep_dive_size_negative", _with(ADHOC, "--size", "-5"), "refused", ("--size -5",)),
    ("deep_dive_due_garbage", _with(ADHOC, "--due", "soon"), "refused", ("--due 'soon'", "YYYY-MM-DD")),
    ("deep_dive_due_100kb", _with(ADHOC, "--due", LONG), "refused", ("not a date",)),
    ("deep_dive_due_31_february", _with(ADHOC, "--due", "2027-02-31"), "refused", ("not a date",)),
    ("deep_dive_due_year_9999", _with(ADHOC, "--due", "9999-12-31"), "refused", ("more than",)),
    ("deep_dive_due_in_past", _with(ADHOC, "--due", "2026-01-05"), "refused", ("in the past",)),
    ("deep_dive_theme_blank", _with(ADHOC, "--theme", " \r\n "), "refused", ("--theme is required",)),
    ("deep_dive_theme_100kb", _with(ADHOC, "--theme", LONG), "refused", ("--theme is 100000 characters",)),
    ("deep_dive_team_unknown", (*ADHOC, "--team", "Team Z" + CRLF), "refused", ("no team has that name",)),
    ("deep_dive_team_100kb", (*ADHOC, "--team", LONG), "refused", ("no team has that name",)),
    ("deep_dive_cohort_unknown", (*ADHOC, "--cohort", "martian"), "usage", ()),
    ("deep_dive_by_key_worker", _with(ADHOC, "--by", "S3"), "refused", ("only the QA team",)),
    ("dip_sample_unknown_domain", ("dip-sample", "--theme", "x", "--size", "1", "--due", "2026-12-04",
                                   "--domains", "astrology,<script>", "--by", "Q1", "--now", NOW), "refused",
     ("'astrology'", "not audit domains")),
]


@pytest.fixture
def staffed(app_env, tmp_path: Path):
    path = tmp_path / "staff.csv"
    path.write_text(BASE_STAFF)
    assert_ok(invoke("import", "staff", str(path), "--now", NOW))
    return get_engine()


def test_hostile_arguments_are_refused_cleanly(staffed, tally) -> None:
    def attempt(case) -> str:
        name, args, outcome, says = case
        before = fingerprint(staffed)
        result = invoke(*args)
        if outcome == "ok":
            assert_ok(result)
            assert fingerprint(staffed) == before
            return "accepted"
        if outcome == "usage":
            # typer's own check of a type or choice: usage error, exit 2, nothing run.
            assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.output[-500:]
            assert "Invalid value" in result.output or "No such" in result.output, result.output[-500:]
            assert all(fragment in result.output for fragment in says), result.output[-500:]
            assert fingerprint(staffed) == before
            return "rejected"
        assert_refused(result, staffed, before, says)
        return "rejected"

    tally.run(KIND, CASES, attempt)
