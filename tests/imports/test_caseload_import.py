"""The caseload import: staff, children, contacts and availability, on every database."""
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from auditcycle.imports.caseload import import_availability, import_children, import_contacts, import_staff
from auditcycle.imports.rows import CaseloadImportError
from auditcycle.models import BusyPeriod, Child, FamilyContact, Service, Staff, Team
from auditcycle.models.enums import Cohort, Role

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=LONDON)
TABLES = (Service, Team, Staff, Child, FamilyContact, BusyPeriod)

STAFF_HEADER = "staff_id,name,email,role,team,service,manager_id,auditor,newly_qualified"
STAFF_CSV = f"""{STAFF_HEADER}
S3,Cara Cole,cara@example.org,key_worker,Assessment 1,Children's Social Care,S2,no,TRUE
S2,Bob Brown,bob@example.org,team_manager,Assessment 1,Children's Social Care,S1,Y,0
S1,Alice Ames,alice@example.org,service_manager,,Children's Social Care,,yes,no
S4,Ivy Ince,ivy@example.org,iro,,,,no,no
S5,Carl Chair,carl@example.org,cp_chair,,Safeguarding Unit,,no,no
S6,Eve Early,eve@example.org,key_worker,Early Help North,Early Help,,yes,no
"""
CHILD_HEADER = "child_id,first_name,last_name,date_of_birth,cohort,team,key_worker_id,iro_id,cp_chair_id,last_supervision_date"
CHILDREN_CSV = f"""{CHILD_HEADER}
C1,Zara,Zane,2015-02-03,child_in_need,Assessment 1,S3,,,2026-02-01
C2,Yusuf,Young,11/04/2012,child_protection,Assessment 1,S3,S4,S5,
C3,Xena,Xu,2020-07-09,early_help,Early Help North,,,,
"""
CONTACT_HEADER = "child_id,relationship,name,phone,language,interpreter_needed"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def snapshot(session: Session) -> dict[str, list[tuple]]:
    """Every row of every table an import writes, in a stable order."""
    result = {}
    for model in TABLES:
        table = model.__table__
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
        result[table.name] = [tuple(row) for row in rows]
    return result


def refused(session: Session, run) -> list[str]:
    """Run an import that must fail; check the database is untouched and return the messages."""
    before = snapshot(session)
    with pytest.raises(CaseloadImportError) as caught:
        run()
    session.rollback()
    assert snapshot(session) == before
    assert str(caught.value) == "\n".join(map(str, caught.value.issues))
    return [str(issue) for issue in caught.value.issues]


@pytest.fixture
def staffed(session: Session, tmp_path: Path) -> Session:
    """A database holding the staff, teams and services of STAFF_CSV."""
    import_staff(session=session, path=write(tmp_path, "base_staff.csv", STAFF_CSV), now=NOW)
    session.commit()
    return session


@pytest.fixture
def with_children(staffed: Session, tmp_path: Path) -> Session:
    """A database holding STAFF_CSV and CHILDREN_CSV."""
    import_children(session=staffed, path=write(tmp_path, "base_children.csv", CHILDREN_CSV), now=NOW)
    staffed.commit()
    return staffed


# --- staff -------------------------------------------------------------------------------


def test_staff_import_creates_staff_teams_and_services(session: Session, tmp_path: Path):
    summary = import_staff(session=session, path=write(tmp_path, "staff.csv", STAFF_CSV), now=NOW)
    session.commit()

    assert str(summary) == "staff.csv: 6 created, 0 updated"
    assert sorted(session.scalars(select(Service.name))) == ["Children's Social Care", "Early Help", "Safeguarding Unit"]
    teams = {t.name: t.service.name for t in session.scalars(select(Team))}
    assert teams == {"Assessment 1": "Children's Social Care", "Early Help North": "Early Help"}
    cara = session.get(Staff, "S3")
    assert (cara.role, cara.team.name, cara.service.name, cara.manager_id) == (
        Role.KEY_WORKER, "Assessment 1", "Children's Social Care", "S2"
    )
    assert (cara.auditor, cara.newly_qualified, cara.new_auditor) == (False, True, False)
    iro = session.get(Staff, "S4")
    assert (iro.team_id, iro.service_id, iro.manager_id) == (None, None, None)


def test_staff_reimport_updates_by_id(staffed: Session, tmp_path: Path):
    changed = f"""{STAFF_HEADER},new_auditor
S3,Cara Cole-Smith,cara.smith@example.org,team_manager,Early Help North,Early Help,S1,yes,no,yes
S7,Gus Gray,gus@example.org,qa_manager,,,,yes,no,no
"""
    summary = import_staff(session=staffed, path=write(tmp_path, "staff.csv", changed), now=NOW)
    staffed.commit()

    assert str(summary) == "staff.csv: 1 created, 1 updated\n  changed role: S3"
    cara = staffed.get(Staff, "S3")
    staffed.refresh(cara)
    assert (cara.name, cara.email, cara.role, cara.team.name, cara.manager_id) == (
        "Cara Cole-Smith", "cara.smith@example.org", Role.TEAM_MANAGER, "Early Help North", "S1"
    )
    assert (cara.auditor, cara.newly_qualified, cara.new_auditor) == (True, False, True)
    assert staffed.scalar(select(Staff.id).where(Staff.id == "S7")) == "S7"
    assert len(staffed.scalars(select(Staff)).all()) == 7


def test_staff_reimport_moves_a_team_to_the_service_the_file_names(staffed: Session, tmp_path: Path):
    moved = f"{STAFF_HEADER}\nS6,Eve Early,eve@example.org,key_worker,Early Help North,Children's Social Care,,yes,no\n"

    import_staff(session=staffed, path=write(tmp_path, "staff.csv", moved), now=NOW)
    staffed.commit()

    team = staffed.scalars(select(Team).where(Team.name == "Early Help North")).one()
    staffed.refresh(team)
    assert team.service.name == "Children's Social Care"


def test_staff_bom_is_accepted(session: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", b"\xef\xbb\xbf" + STAFF_CSV.replace("\n", "\r\n").encode())

    summary = import_staff(session=session, path=path, now=NOW)

    assert (summary.created, summary.updated) == (6, 0)


def test_staff_unknown_column_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER},shoe_size\nS9,Hal,hal@example.org,iro,,,,no,no,9\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        "staff.csv row 1, column shoe_size: unknown column 'shoe_size'; expected columns: staff_id, name, "
        "email, role, team, service, manager_id, auditor, newly_qualified (optional: new_auditor, meeting_location, team_meeting_location)"
    ]


def test_staff_missing_column_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", "staff_id,name,role,team,service,manager_id,auditor,newly_qualified\nS9,Hal,iro,,,,no,no\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        "staff.csv row 1, column email: required column is missing; expected columns: staff_id, name, "
        "email, role, team, service, manager_id, auditor, newly_qualified (optional: new_auditor, meeting_location, team_meeting_location)"
    ]


def test_staff_bad_email_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\nS1,Alice Ames,alice@example.org,service_manager,,CSC,,no,no\n"
                 "S9,Hal,not-an-email,iro,,,,no,no\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        "staff.csv row 3, column email: 'not-an-email' is not a valid email address "
        "(An email address must have an @-sign.)"
    ]


def test_staff_unknown_role_lists_allowed_values(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\nS9,Hal,hal@example.org,wizard,,,,no,no\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        "staff.csv row 2, column role: 'wizard' is not a known role; allowed values: key_worker, team_manager, "
        "service_manager, assistant_director, iro, cp_chair, qa_manager, practice_improvement_manager, "
        "principal_social_worker"
    ]


def test_staff_duplicate_id_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\nS9,Hal,hal@example.org,iro,,,,no,no\n"
                 "S8,Ida,ida@example.org,iro,,,,no,no\nS9,Hal Two,hal2@example.org,iro,,,,no,no\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == ["staff.csv row 4, column staff_id: staff id 'S9' appears again (first on row 2)"]


def test_staff_team_in_two_services_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\nS8,Ida,ida@example.org,key_worker,Hub,Early Help,,no,no\n"
                 "S9,Hal,hal@example.org,key_worker,Hub,Children's Social Care,,no,no\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        "staff.csv row 3, column service: team 'Hub' is in service 'Early Help' on row 2, not "
        "\"Children's Social Care\"; a team belongs to one service"
    ]


def test_staff_meeting_locations_are_kept_per_person_and_per_team(staffed: Session, tmp_path: Path):
    header = f"{STAFF_HEADER},meeting_location,team_meeting_location"
    path = write(tmp_path, "staff.csv", f"{header}\nS3,Cara Cole,cara@example.org,key_worker,Assessment 1,"
                 "Children's Social Care,S2,no,TRUE,https://teams.example.org/cara,Room 2.14\n")

    import_staff(session=staffed, path=path, now=NOW)

    assert staffed.get(Staff, "S3").meeting_location == "https://teams.example.org/cara"
    assert staffed.scalar(select(Team.meeting_location).where(Team.name == "Assessment 1")) == "Room 2.14"
    assert staffed.get(Staff, "S2").meeting_location is None


def test_staff_team_with_two_meeting_locations_is_reported(staffed: Session, tmp_path: Path):
    header = f"{STAFF_HEADER},meeting_location,team_meeting_location"
    path = write(tmp_path, "staff.csv", f"{header}\nS8,Ida,ida@example.org,key_worker,Hub,Early Help,,no,no,,Room 1\n"
                 "S9,Hal,hal@example.org,key_worker,Hub,Early Help,,no,no,,Room 2\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == ["staff.csv row 3, column team_meeting_location: team 'Hub' meets at 'Room 1' on row 2; "
                        "a team has one meeting location"]


def test_staff_team_without_service_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\nS8,Ida,ida@example.org,key_worker,Hub,,,no,no\n"
                 "S9,Hal,hal@example.org,team_manager,,,,no,no\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        "staff.csv row 2, column service: required because team 'Hub' is given",
        "staff.csv row 3, column team: required for the role 'team_manager'",
    ]


def test_staff_unknown_manager_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\nS8,Ida,ida@example.org,iro,,,S1,no,no\n"
                 "S9,Hal,hal@example.org,iro,,,S404,no,no\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == ["staff.csv row 3, column manager_id: no staff member with id 'S404' in this file or the database"]


def test_staff_five_errors_are_all_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"""{STAFF_HEADER}
S8,Ida,ida@example.org,iro,,,,no,no
S9,Hal,hal@,iro,,,,no,no
S10,Jo,jo@example.org,chief,,,,no,no
S8,Ida Again,ida2@example.org,iro,,,,no,no
S11,Kim,kim@example.org,iro,,,S404,perhaps,no
""")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert [m.split(":")[0] for m in messages] == [
        "staff.csv row 3, column email",
        "staff.csv row 4, column role",
        "staff.csv row 5, column staff_id",
        "staff.csv row 6, column auditor",
        "staff.csv row 6, column manager_id",
    ]


def test_staff_not_utf8_is_refused(staffed: Session, tmp_path: Path):
    content = f"{STAFF_HEADER}\nS8,Zo\xeb,zoe@example.org,iro,,,,no,no\nS9,Ren\xe9e,renee@example.org,iro,,,,no,no\n"
    path = write(tmp_path, "staff.csv", content.encode("cp1252"))

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        'staff.csv row 2: the file is not UTF-8 (also row 3); save it as "CSV UTF-8" '
        "(in Excel: File > Save As > CSV UTF-8 (Comma delimited))"
    ]


def test_staff_empty_file_is_refused(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", b"")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == ["staff.csv: the file is empty"]


def test_staff_header_only_file_is_refused(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\n,,,,,,,,\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == ["staff.csv: the file has a header but no rows to import"]


def test_staff_row_of_wrong_width_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\nS8,Ida,ida@example.org,iro,,,,no\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == ["staff.csv row 2: has 8 values but the header has 9 columns"]


def _staff_rows(*without: str) -> list[str]:
    return [line for line in STAFF_CSV.splitlines()[1:] if line.split(",")[0] not in without]


def test_staff_complete_file_deactivates_those_it_does_not_list_and_reactivates_those_it_does(
        staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", "\n".join([STAFF_HEADER, *_staff_rows("S3", "S6")]) + "\n")

    summary = import_staff(session=staffed, path=path, now=NOW, complete=True)
    staffed.commit()
    back = write(tmp_path, "back.csv", "\n".join([STAFF_HEADER, *_staff_rows("S6")]) + "\n")
    returned = import_staff(session=staffed, path=back, now=NOW, complete=True)
    staffed.commit()

    assert str(summary) == "staff.csv: 0 created, 4 updated\n  left (not in the file, so deactivated): S3, S6"
    assert str(returned) == "back.csv: 0 created, 5 updated\n  returned (in the file again, so active): S3"
    active = staffed.execute(select(Staff.id, Staff.active).order_by(Staff.id).execution_options(populate_existing=True))
    assert active.all() == [("S1", True), ("S2", True), ("S3", True), ("S4", True), ("S5", True), ("S6", False)]


def test_staff_partial_file_deactivates_nobody(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", "\n".join([STAFF_HEADER, *_staff_rows("S3", "S6")]) + "\n")

    summary = import_staff(session=staffed, path=path, now=NOW)
    staffed.commit()

    assert (summary.left, summary.changed_role) == ((), ())
    assert staffed.scalar(select(func.count()).select_from(Staff).where(Staff.active.is_(False))) == 0


def test_staff_complete_file_refuses_a_manager_it_does_not_list(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", "\n".join([STAFF_HEADER, *_staff_rows("S2")]) + "\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW, complete=True))

    assert messages == ["staff.csv row 2, column manager_id: 'S2' is not in this file, so leaves with --complete and "
                        "cannot manage anyone; give them a row, or name the person's new manager"]


def test_staff_complete_file_frees_a_leaver_s_email_address(staffed: Session, tmp_path: Path):
    newcomer = "S9,Cara Cole,cara@example.org,key_worker,Assessment 1,Children's Social Care,S2,no,no"
    path = write(tmp_path, "staff.csv", "\n".join([STAFF_HEADER, *_staff_rows("S3"), newcomer]) + "\n")

    summary = import_staff(session=staffed, path=path, now=NOW, complete=True)

    assert (summary.created, summary.left) == (1, ("S3",))


# --- children ----------------------------------------------------------------------------


def test_children_import_creates_children(staffed: Session, tmp_path: Path):
    summary = import_children(session=staffed, path=write(tmp_path, "children.csv", CHILDREN_CSV), now=NOW)
    staffed.commit()

    assert str(summary) == "children.csv: 3 created, 0 updated"
    yusuf = staffed.get(Child, "C2")
    assert (yusuf.date_of_birth, yusuf.cohort, yusuf.team.name) == (date(2012, 4, 11), Cohort.CHILD_PROTECTION, "Assessment 1")
    assert (yusuf.key_worker_id, yusuf.iro_id, yusuf.cp_chair_id, yusuf.last_supervision_date) == ("S3", "S4", "S5", None)
    xena = staffed.get(Child, "C3")
    assert (xena.key_worker_id, xena.team.name) == (None, "Early Help North")


def test_children_reimport_updates_by_id(with_children: Session, tmp_path: Path):
    changed = f"{CHILD_HEADER}\nC1,Zara,Zane,2015-02-03,cared_for,Early Help North,S6,S4,,2026-03-01\nC4,Will,Wu,2019-01-01,early_help,Early Help North,S6,,,\n"

    summary = import_children(session=with_children, path=write(tmp_path, "children.csv", changed), now=NOW)
    with_children.commit()

    assert str(summary) == "children.csv: 1 created, 1 updated"
    zara = with_children.get(Child, "C1")
    with_children.refresh(zara)
    assert (zara.cohort, zara.team.name, zara.key_worker_id, zara.iro_id, zara.last_supervision_date) == (
        Cohort.CARED_FOR, "Early Help North", "S6", "S4", date(2026, 3, 1)
    )
    assert len(with_children.scalars(select(Child.id)).all()) == 4


def test_children_bad_date_is_reported_without_the_value(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "children.csv", f"{CHILD_HEADER}\nC1,Zara,Zane,3rd Feb 2015,child_in_need,Assessment 1,S3,,,\n")

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == ["children.csv row 2, column date_of_birth: not a date (expected YYYY-MM-DD or DD/MM/YYYY)"]


def test_children_impossible_date_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "children.csv", f"{CHILD_HEADER}\nC1,Zara,Zane,31/02/2015,child_in_need,Assessment 1,S3,,,\n")

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == ["children.csv row 2, column date_of_birth: not a date (expected YYYY-MM-DD or DD/MM/YYYY)"]


def test_children_dates_out_of_range_are_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "children.csv", f"""{CHILD_HEADER}
C1,Zara,Zane,2026-03-03,child_in_need,Assessment 1,S3,,,
C2,Yusuf,Young,1989-12-31,care_experienced,Assessment 1,S3,,,
C3,Xena,Xu,2020-07-09,early_help,Assessment 1,S3,,,2026-03-03
""")

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == [
        "children.csv row 2, column date_of_birth: is in the future (after 2026-03-02)",
        "children.csv row 3, column date_of_birth: is before 1990-01-01",
        "children.csv row 4, column last_supervision_date: is in the future (after 2026-03-02)",
    ]


def test_children_unknown_cohort_lists_allowed_values(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "children.csv", f"{CHILD_HEADER}\nC1,Zara,Zane,2015-02-03,looked_after,Assessment 1,S3,,,\n")

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == [
        "children.csv row 2, column cohort: not a known cohort; allowed values: early_help, child_in_need, "
        "child_protection, cared_for, care_experienced, youth_justice"
    ]


def test_children_unknown_team_and_staff_are_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "children.csv", f"{CHILD_HEADER}\nC1,Zara,Zane,2015-02-03,child_in_need,Assessment 9,S33,S44,S55,\n")

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == [
        "children.csv row 2, column team: no team named 'Assessment 9'; import the staff file first, which creates teams",
        "children.csv row 2, column key_worker_id: no staff member with id 'S33'",
        "children.csv row 2, column iro_id: no staff member with id 'S44'",
        "children.csv row 2, column cp_chair_id: no staff member with id 'S55'",
    ]


def test_children_duplicate_id_is_reported(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "children.csv", CHILDREN_CSV + "C2,Yusuf,Young,2012-04-11,child_protection,Assessment 1,S3,,,\n")

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == ["children.csv row 5, column child_id: child id 'C2' appears again (first on row 3)"]


def test_children_five_errors_are_all_reported_without_personal_data(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "children.csv", f"""{CHILD_HEADER}
C1,Zara,Zane,2015-02-30,child_in_need,Assessment 1,S3,,,
C2,Yusuf,Young,2012-04-11,chin,Assessment 1,S3,,,
C3,Xena,Xu,2020-07-09,early_help,Nowhere Team,,,,
C4,Will,Wu,2019-01-01,early_help,Assessment 1,S404,,,
C1,Vera,Vance,2018-05-05,early_help,Assessment 1,S3,,,
""")

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == [
        "children.csv row 2, column date_of_birth: not a date (expected YYYY-MM-DD or DD/MM/YYYY)",
        "children.csv row 3, column cohort: not a known cohort; allowed values: early_help, child_in_need, "
        "child_protection, cared_for, care_experienced, youth_justice",
        "children.csv row 4, column team: no team named 'Nowhere Team'; import the staff file first, which creates teams",
        "children.csv row 5, column key_worker_id: no staff member with id 'S404'",
        "children.csv row 6, column child_id: child id 'C1' appears again (first on row 2)",
    ]
    text = "\n".join(messages)
    for personal in ("Zara", "Zane", "Vera", "Vance", "2015-02-30", "2018-05-05", "chin"):
        assert personal not in text


def test_children_long_name_is_reported_without_the_value(staffed: Session, tmp_path: Path):
    long_name = "Z" * 101
    path = write(tmp_path, "children.csv", f"{CHILD_HEADER}\nC1,{long_name},,2015-02-03,child_in_need,Assessment 1,S3,,,\n")

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == [
        "children.csv row 2, column first_name: is longer than 100 characters",
        "children.csv row 2, column last_name: a value is required",
    ]


# --- contacts ----------------------------------------------------------------------------


def test_contacts_reimport_upserts_on_child_relationship_and_name(with_children: Session, tmp_path: Path):
    first = f"{CONTACT_HEADER}\nC1,mother,Mary Zane,07700 900123,Polish,yes\nC1,father,Fred Zane,,,\n"
    import_contacts(session=with_children, path=write(tmp_path, "contacts.csv", first), now=NOW)
    with_children.commit()
    second = f"\ufeff{CONTACT_HEADER}\nC1,mother,Mary Zane,+44 7700 900999,,no\nC2,aunt,Ann Young,(0161) 496 0000,,\n"

    summary = import_contacts(session=with_children, path=write(tmp_path, "contacts.csv", second), now=NOW)
    with_children.commit()

    assert str(summary) == "contacts.csv: 1 created, 1 updated"
    rows = with_children.execute(
        select(FamilyContact.child_id, FamilyContact.relation, FamilyContact.name, FamilyContact.phone,
               FamilyContact.language, FamilyContact.interpreter_needed).order_by(FamilyContact.id)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("C1", "mother", "Mary Zane", "+44 7700 900999", None, False),
        ("C1", "father", "Fred Zane", None, None, False),
        ("C2", "aunt", "Ann Young", "(0161) 496 0000", None, False),
    ]


def test_contacts_errors_are_reported_without_personal_data(with_children: Session, tmp_path: Path):
    path = write(tmp_path, "contacts.csv", f"""{CONTACT_HEADER}
C9,mother,Mary Nobody,,,
C1,mother,Mary Zane,ring after 6,,maybe
C1,mother,Mary Zane,,,
""")

    messages = refused(with_children, lambda: import_contacts(session=with_children, path=path, now=NOW))

    assert messages == [
        "contacts.csv row 2, column child_id: no child with id 'C9'; import the children file first",
        "contacts.csv row 3, column phone: not a phone number (use digits, spaces, '+', '-' and brackets)",
        "contacts.csv row 3, column interpreter_needed: not yes or no (use yes/no, true/false, y/n or 1/0)",
        "contacts.csv row 4, column name: the same child ('C1'), relationship and name appears again (first on row 3)",
    ]
    assert "Mary" not in "\n".join(messages)


# --- availability ------------------------------------------------------------------------


def busy_periods(session: Session) -> list[tuple[str, datetime, datetime]]:
    rows = session.execute(select(BusyPeriod.staff_id, BusyPeriod.starts_at, BusyPeriod.ends_at).order_by(
        BusyPeriod.staff_id, BusyPeriod.starts_at))
    return [tuple(r) for r in rows]


def test_availability_csv_is_stored_in_utc_and_reimport_is_idempotent(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "busy.csv", "staff_id,start,end\nS1,2026-03-10T10:00,2026-03-10T11:30\n"
                 "S2,2026-07-01T09:00,2026-07-01T17:00\nS2,2026-10-25T01:30,2026-10-25T02:30\n")

    first = import_availability(session=staffed, path=path, now=NOW, tz=LONDON)
    staffed.commit()
    second = import_availability(session=staffed, path=path, now=NOW, tz=LONDON)
    staffed.commit()

    assert (first.created, first.staff_ids) == (3, frozenset({"S1", "S2"}))
    assert (str(second), second.staff_ids) == ("busy.csv: 0 created, 0 updated, 3 already present", frozenset())
    assert busy_periods(staffed) == [
        ("S1", datetime(2026, 3, 10, 10, 0, tzinfo=UTC), datetime(2026, 3, 10, 11, 30, tzinfo=UTC)),
        ("S2", datetime(2026, 7, 1, 8, 0, tzinfo=UTC), datetime(2026, 7, 1, 16, 0, tzinfo=UTC)),
        # The autumn overlap takes the first 01:30, still in summer time.
        ("S2", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),
    ]


def test_availability_time_in_spring_gap_is_refused(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "busy.csv", "staff_id,start,end\nS1,2026-03-29T01:30,2026-03-29T03:00\n"
                 "S2,2026-03-10T10:00,2026-03-10T09:00\nS404,2026-03-10T10:00,2026-03-10T11:00\n")

    messages = refused(staffed, lambda: import_availability(session=staffed, path=path, now=NOW, tz=LONDON))

    assert messages == [
        "busy.csv row 2, column start: 2026-03-29T01:30 does not exist in Europe/London: "
        "the clocks go forward then; give a time outside the gap",
        "busy.csv row 3, column end: must be after start",
        "busy.csv row 4, column staff_id: no staff member with id 'S404'",
    ]


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//auditcycle tests//EN
BEGIN:VEVENT
UID:london@example.org
SUMMARY:Team meeting
DTSTART;TZID=Europe/London:20260710T100000
DTEND;TZID=Europe/London:20260710T113000
END:VEVENT
BEGIN:VEVENT
UID:utc@example.org
DTSTART:20260311T140000Z
DURATION:PT45M
END:VEVENT
BEGIN:VEVENT
UID:allday@example.org
SUMMARY:Leave
DTSTART;VALUE=DATE:20260329
DTEND;VALUE=DATE:20260330
END:VEVENT
BEGIN:VEVENT
UID:floating@example.org
DTSTART:20260715T090000
DTEND:20260715T093000
END:VEVENT
BEGIN:VEVENT
UID:free@example.org
DTSTART:20260312T090000Z
DTEND:20260312T170000Z
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
UID:cancelled@example.org
DTSTART:20260313T090000Z
DTEND:20260313T170000Z
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


def test_availability_ics_stores_busy_events(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "alice.ics", ICS)

    summary = import_availability(session=staffed, path=path, now=NOW, tz=LONDON, staff_id="S1")
    staffed.commit()

    assert (summary.created, summary.staff_ids) == (4, frozenset({"S1"}))
    assert busy_periods(staffed) == [
        ("S1", datetime(2026, 3, 11, 14, 0, tzinfo=UTC), datetime(2026, 3, 11, 14, 45, tzinfo=UTC)),
        # The all-day event on the day the clocks go forward lasts 23 hours.
        ("S1", datetime(2026, 3, 29, 0, 0, tzinfo=UTC), datetime(2026, 3, 29, 23, 0, tzinfo=UTC)),
        ("S1", datetime(2026, 7, 10, 9, 0, tzinfo=UTC), datetime(2026, 7, 10, 10, 30, tzinfo=UTC)),
        ("S1", datetime(2026, 7, 15, 8, 0, tzinfo=UTC), datetime(2026, 7, 15, 8, 30, tzinfo=UTC)),
    ]


def test_availability_ics_reimport_is_idempotent(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "alice.ics", ICS)
    import_availability(session=staffed, path=path, now=NOW, tz=LONDON, staff_id="S1")
    staffed.commit()

    summary = import_availability(session=staffed, path=path, now=NOW, tz=LONDON, staff_id="S1")

    assert (summary.created, summary.unchanged) == (0, 4)


def test_availability_csv_with_staff_option_is_refused(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "busy.csv", "staff_id,start,end\nS1,2026-03-10T10:00,2026-03-10T11:00\n")

    messages = refused(
        staffed, lambda: import_availability(session=staffed, path=path, now=NOW, tz=LONDON, staff_id="S1")
    )

    assert messages == ["busy.csv: --staff is for .ics files; a CSV names the staff in its staff_id column"]


def test_availability_ics_without_staff_is_refused(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "alice.ics", ICS)

    messages = refused(staffed, lambda: import_availability(session=staffed, path=path, now=NOW, tz=LONDON))

    assert messages == ["alice.ics: --staff is required for an .ics file: whose calendar is it?"]


def test_availability_ics_unknown_staff_is_refused(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "alice.ics", ICS)

    messages = refused(
        staffed, lambda: import_availability(session=staffed, path=path, now=NOW, tz=LONDON, staff_id="S404")
    )

    assert messages == ["alice.ics: --staff 'S404': no staff member with that id"]


def test_availability_ics_bad_events_are_reported_by_line(staffed: Session, tmp_path: Path):
    ics = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//auditcycle tests//EN
BEGIN:VEVENT
UID:gap@example.org
DTSTART:20260329T013000
DTEND:20260329T030000
END:VEVENT
BEGIN:VEVENT
UID:mars@example.org
DTSTART;TZID=Mars/Olympus:20260310T100000
DTEND;TZID=Mars/Olympus:20260310T110000
END:VEVENT
BEGIN:VEVENT
UID:weekly@example.org
DTSTART:20260310T100000Z
DTEND:20260310T110000Z
RRULE:FREQ=WEEKLY
END:VEVENT
END:VCALENDAR
"""
    path = write(tmp_path, "alice.ics", ics)

    messages = refused(
        staffed, lambda: import_availability(session=staffed, path=path, now=NOW, tz=LONDON, staff_id="S1")
    )

    assert messages == [
        "alice.ics line 4, property DTSTART: 2026-03-29T01:30 does not exist in Europe/London: "
        "the clocks go forward then; give a time outside the gap",
        "alice.ics line 9, property DTSTART: unknown time zone 'Mars/Olympus'",
        "alice.ics line 14, property RRULE: repeating events are not supported; "
        "export the calendar with each occurrence listed",
    ]


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def runner(app_env: str) -> CliRunner:
    """A CLI runner on the test database, with the import commands registered."""
    from auditcycle.cli import commands  # noqa: F401  (registers every command)

    return CliRunner()


def test_cli_import_staff_then_children_prints_summaries(runner: CliRunner, tmp_path: Path, engine):
    from auditcycle.cli import app

    write(tmp_path, "staff.csv", STAFF_CSV)
    write(tmp_path, "children.csv", CHILDREN_CSV)

    staff = runner.invoke(app, ["import", "staff", "staff.csv", "--now", "2026-03-02T09:00"])
    children = runner.invoke(app, ["import", "children", "children.csv", "--now", "2026-03-02T09:00"])
    again = runner.invoke(app, ["import", "children", "children.csv", "--now", "2026-03-02T09:00"])

    assert (staff.exit_code, staff.stdout) == (0, "staff.csv: 6 created, 0 updated\n")
    assert (children.exit_code, children.stdout) == (0, "children.csv: 3 created, 0 updated\n")
    assert (again.exit_code, again.stdout) == (0, "children.csv: 0 created, 3 updated\n")


def test_cli_import_bad_file_exits_non_zero_and_writes_nothing(runner: CliRunner, tmp_path: Path, engine):
    from auditcycle.cli import app

    write(tmp_path, "staff.csv", STAFF_CSV + "S9,Hal,hal@,wizard,,,,no,no\n")

    result = runner.invoke(app, ["import", "staff", "staff.csv"])

    assert result.exit_code == 1
    assert "staff.csv row 8, column email: 'hal@' is not a valid email address" in result.stderr
    assert "staff.csv row 8, column role: 'wizard' is not a known role" in result.stderr
    with Session(engine) as session:
        assert snapshot(session) == {model.__table__.name: [] for model in TABLES}


# --- strict input types (issue 15, rule 5) -------------------------------------------------

STAFF_ROW = "S9,Hal Hart,hal@example.org,key_worker,Assessment 1,Children's Social Care,S2,no,no"
CHILD_ROW = "C9,Ann,Bee,2015-02-03,child_in_need,Assessment 1,S3,S4,S5,2026-02-01"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def with_column(header: str, row: str, column: str, value: str) -> str:
    """Return the header and the row with one column's value replaced."""
    columns, values = header.split(","), row.split(",")
    values[columns.index(column)] = value
    return f"{header}\n{','.join(values)}\n"


def bidi_message(c: str) -> str:
    return (f"contains a bidirectional control character (U+{ord(c):04X} {unicodedata.name(c)}), which can show "
            "text in a different order from how it is stored; remove it")


@pytest.mark.parametrize("column", STAFF_HEADER.split(","))
def test_every_staff_column_refuses_bidirectional_controls(staffed: Session, tmp_path: Path, column: str):
    value = dict(zip(STAFF_HEADER.split(","), STAFF_ROW.split(","), strict=True))[column]
    failures = []
    for c in BIDI:
        path = write(tmp_path, "staff.csv", with_column(STAFF_HEADER, STAFF_ROW, column, value[:1] + c + value[1:]))
        messages = refused(staffed, lambda path=path: import_staff(session=staffed, path=path, now=NOW))
        if messages != [f"staff.csv row 2, column {column}: {bidi_message(c)}"]:
            failures.append(messages)
    assert not failures


@pytest.mark.parametrize("column", CHILD_HEADER.split(","))
def test_every_children_column_refuses_bidirectional_controls_without_the_value(
        staffed: Session, tmp_path: Path, column: str):
    value = dict(zip(CHILD_HEADER.split(","), CHILD_ROW.split(","), strict=True))[column]
    path = write(tmp_path, "children.csv", with_column(CHILD_HEADER, CHILD_ROW, column, f"\u2067{value}\u2069"))

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == [f"children.csv row 2, column {column}: {bidi_message(chr(0x2067))}"]


@pytest.mark.parametrize(("column", "value"), [("child_id", "C1"), ("relationship", "aunt"), ("name", "Ann Bee"),
                                                ("phone", "07700 900000"), ("language", "Urdu")])
def test_every_contacts_column_refuses_bidirectional_controls(with_children: Session, tmp_path: Path, column, value):
    row = {"child_id": "C1", "relationship": "aunt", "name": "Ann Bee", "phone": "", "language": "",
           "interpreter_needed": "no"} | {column: f"\u202d{value}"}
    path = write(tmp_path, "contacts.csv", f"{CONTACT_HEADER}\n{','.join(row.values())}\n")

    messages = refused(with_children, lambda: import_contacts(session=with_children, path=path, now=NOW))

    assert messages == [f"contacts.csv row 2, column {column}: {bidi_message(chr(0x202D))}"]


@pytest.mark.parametrize("column", ["staff_id", "start", "end"])
def test_every_availability_column_refuses_bidirectional_controls(staffed: Session, tmp_path: Path, column):
    row = {"staff_id": "S1", "start": "2026-03-10T10:00", "end": "2026-03-10T11:00"}
    row[column] += "\u202c"
    path = write(tmp_path, "busy.csv", f"staff_id,start,end\n{','.join(row.values())}\n")

    messages = refused(staffed, lambda: import_availability(session=staffed, path=path, now=NOW, tz=LONDON))

    assert messages == [f"busy.csv row 2, column {column}: {bidi_message(chr(0x202C))}"]


@pytest.mark.parametrize("column", ["staff_id", "name", "email", "team", "service", "manager_id"])
def test_ids_and_one_line_staff_columns_refuse_zero_width_characters(staffed: Session, tmp_path: Path, column):
    value = dict(zip(STAFF_HEADER.split(","), STAFF_ROW.split(","), strict=True))[column]
    for c in ZERO_WIDTH:
        path = write(tmp_path, "staff.csv", with_column(STAFF_HEADER, STAFF_ROW, column, value[:1] + c + value[1:]))

        messages = refused(staffed, lambda path=path: import_staff(session=staffed, path=path, now=NOW))

        assert messages == [f"staff.csv row 2, column {column}: contains an invisible character "
                            f"(U+{ord(c):04X} {unicodedata.name(c)}); type the value again without it"]


@pytest.mark.parametrize(("column", "value"), [("child_id", "C\u200b9"), ("first_name", "An\u200dn"),
                                                ("key_worker_id", "S3\ufeff"), ("cohort", "\u2060early_help")])
def test_children_ids_and_names_refuse_zero_width_characters(staffed: Session, tmp_path: Path, column, value):
    path = write(tmp_path, "children.csv", with_column(CHILD_HEADER, CHILD_ROW, column, value))

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert len(messages) == 1 and messages[0].startswith(f"children.csv row 2, column {column}: contains an "
                                                         "invisible character (U+")


def test_a_value_with_a_c1_control_character_is_refused(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", with_column(STAFF_HEADER, STAFF_ROW, "name", "Hal\x85Hart"))

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == ["staff.csv row 2, column name: contains a line break or another control character; "
                        "give one line of plain text"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-02-03T00:00", "a date and time, not a date"),
        ("03/02/2015 00:00", "a date and time, not a date"),
        ("42038", "a number, not a date"),
        ("20150203", "a number, not a date"),
        ("2015-W05-2", "not a date"),
        # Arabic-Indic digits: `\d` and int() took them for 03/02/2015.
        ("٠٣/٠٢/٢٠١٥", "not a date"),
        ("٢٠١٥-٠٢-٠٣", "not a date"),
        ("2015-2-3", "not a date"),
    ],
)
@pytest.mark.parametrize("column", ["date_of_birth", "last_supervision_date"])
def test_children_dates_are_yyyy_mm_dd_or_dd_mm_yyyy_and_nothing_else(
        staffed: Session, tmp_path: Path, column, value, expected):
    path = write(tmp_path, "children.csv", with_column(CHILD_HEADER, CHILD_ROW, column, value))

    messages = refused(staffed, lambda: import_children(session=staffed, path=path, now=NOW))

    assert messages == [f"children.csv row 2, column {column}: {expected} (expected YYYY-MM-DD or DD/MM/YYYY)"]


def test_children_dates_in_either_documented_form_are_accepted(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "children.csv", f"{CHILD_HEADER}\nC9,Ann,Bee,3/2/2015,child_in_need,Assessment 1,S3,,,"
                 " 2026-02-01 \n")

    import_children(session=staffed, path=path, now=NOW)

    ann = staffed.get(Child, "C9")
    assert (ann.date_of_birth, ann.last_supervision_date) == (date(2015, 2, 3), date(2026, 2, 1))


@pytest.mark.parametrize("value", ["2026-03-10", "20260310T1000", "2026-W11-2T10:00", "2026-03-10T10"])
def test_availability_times_are_a_date_and_a_time(staffed: Session, tmp_path: Path, value: str):
    path = write(tmp_path, "busy.csv", f"staff_id,start,end\nS1,{value},2026-03-10T23:00\n")

    messages = refused(staffed, lambda: import_availability(session=staffed, path=path, now=NOW, tz=LONDON))

    assert messages == [f"busy.csv row 2, column start: {value!r} is not an ISO date-time such as 2026-12-01T09:00"]


def test_availability_times_with_a_space_seconds_or_an_offset_are_accepted(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "busy.csv", "staff_id,start,end\nS1,2026-03-10 10:00,2026-03-10T11:00:30\n"
                 "S2,2026-03-10T10:00Z,2026-03-10T12:00:00.5+01:00\n")

    summary = import_availability(session=staffed, path=path, now=NOW, tz=LONDON)

    assert summary.created == 2


# --- a consistent organisation (issue 15, rule 6) -------------------------------------------


def test_staff_managing_each_other_are_refused_naming_rows_and_ids(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"""{STAFF_HEADER}
S8,Ida Ince,ida@example.org,service_manager,,Early Help,S9,no,no
S7,Gus Gray,gus@example.org,iro,,,S1,no,no
S9,Hal Hart,hal@example.org,service_manager,,Early Help,S8,no,no
S10,Jo Jay,jo@example.org,team_manager,Hub,Early Help,S11,no,no
S11,Kim Kay,kim@example.org,team_manager,Hub,Early Help,S12,no,no
S12,Lee Lin,lee@example.org,service_manager,,Early Help,S10,no,no
""")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        "staff.csv row 2, column manager_id: the managers go round in a loop: S8 → S9 → S8 (each is managed by "
        "the next; rows 2, 4); the line of managers above someone must end with a person who has no manager",
        "staff.csv row 5, column manager_id: the managers go round in a loop: S10 → S11 → S12 → S10 (each is "
        "managed by the next; rows 5, 6, 7); the line of managers above someone must end with a person who has "
        "no manager",
    ]


def test_a_manager_loop_through_staff_the_file_does_not_list_is_refused(staffed: Session, tmp_path: Path):
    # The database holds S3 managed by S2, managed by S1: making S1's manager S3 closes the loop.
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\n"
                 "S1,Alice Ames,alice@example.org,service_manager,,Children's Social Care,S3,yes,no\n")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        "staff.csv row 2, column manager_id: the managers go round in a loop: S1 → S3 → S2 → S1 (each is managed "
        "by the next; row 2; S3, S2 as the database holds them); the line of managers above someone must end "
        "with a person who has no manager",
    ]


def test_a_file_that_reorders_managers_without_a_loop_is_accepted(staffed: Session, tmp_path: Path):
    # S2 now manages S1, and S1 no longer has a manager above S2: the file's managers replace the database's.
    path = write(tmp_path, "staff.csv", f"""{STAFF_HEADER}
S1,Alice Ames,alice@example.org,service_manager,,Children's Social Care,S2,yes,no
S2,Bob Brown,bob@example.org,team_manager,Assessment 1,Children's Social Care,,Y,0
""")

    import_staff(session=staffed, path=path, now=NOW)

    assert staffed.get(Staff, "S1").manager_id == "S2"


def test_an_email_address_given_twice_is_refused_naming_both_rows(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"""{STAFF_HEADER}
S8,Ida Ince,ida@example.org,iro,,,,no,no
S9,Hal Hart,hal@example.org,iro,,,,no,no
S10,Ida Two,IDA@Example.org,iro,,,,no,no
S11,Al Ames,Alice@example.ORG,iro,,,,no,no
""")

    messages = refused(staffed, lambda: import_staff(session=staffed, path=path, now=NOW))

    assert messages == [
        "staff.csv row 4, column email: 'IDA@Example.org' is also the email address of 'S8' on row 2 (compared "
        "ignoring case); each member of staff needs their own",
        "staff.csv row 5, column email: 'Alice@example.ORG' is already the email address of 'S1' in the database, "
        "who is not in this file (compared ignoring case); each member of staff needs their own",
    ]


def test_staff_may_swap_email_addresses_in_one_file(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"""{STAFF_HEADER}
S1,Alice Ames,bob@example.org,service_manager,,Children's Social Care,,yes,no
S2,Bob Brown,alice@example.org,team_manager,Assessment 1,Children's Social Care,S1,Y,0
""")

    import_staff(session=staffed, path=path, now=NOW)

    assert (staffed.get(Staff, "S1").email, staffed.get(Staff, "S2").email) == ("bob@example.org", "alice@example.org")


@pytest.fixture
def senior(staffed: Session, tmp_path: Path) -> Session:
    """STAFF_CSV and an assistant director, a QA manager and a principal social worker."""
    import_staff(session=staffed, path=write(tmp_path, "senior.csv", f"""{STAFF_HEADER}
S20,Ada Dee,ada@example.org,assistant_director,,,,yes,no
S21,Quin Ash,quin@example.org,qa_manager,,,,yes,no
S22,Pat Sow,pat@example.org,principal_social_worker,,,,yes,no
"""), now=NOW)
    staffed.commit()
    return staffed


@pytest.mark.parametrize(
    ("column", "staff_id", "role", "noun", "allowed"),
    [
        ("key_worker_id", "S1", "service_manager", "a key worker", "'key_worker' or 'team_manager'"),
        ("key_worker_id", "S20", "assistant_director", "a key worker", "'key_worker' or 'team_manager'"),
        ("key_worker_id", "S21", "qa_manager", "a key worker", "'key_worker' or 'team_manager'"),
        ("key_worker_id", "S4", "iro", "a key worker", "'key_worker' or 'team_manager'"),
        ("iro_id", "S5", "cp_chair", "an IRO", "'iro'"),
        ("iro_id", "S3", "key_worker", "an IRO", "'iro'"),
        ("cp_chair_id", "S4", "iro", "a CP chair", "'cp_chair'"),
        ("cp_chair_id", "S22", "principal_social_worker", "a CP chair", "'cp_chair'"),
    ],
)
def test_children_staff_of_the_wrong_role_are_refused_naming_file_row_and_column(
        senior: Session, tmp_path: Path, column, staff_id, role, noun, allowed):
    path = write(tmp_path, "children.csv", CHILDREN_CSV + with_column(CHILD_HEADER, CHILD_ROW, column, staff_id)
                 .split("\n", 1)[1])

    messages = refused(senior, lambda: import_children(session=senior, path=path, now=NOW))

    assert messages == [f"children.csv row 5, column {column}: staff member {staff_id!r} has the role {role!r}; "
                        f"{noun} must have the role {allowed}"]


def test_a_team_manager_may_hold_a_case(staffed: Session, tmp_path: Path):
    path = write(tmp_path, "children.csv", with_column(CHILD_HEADER, CHILD_ROW, "key_worker_id", "S2"))

    import_children(session=staffed, path=path, now=NOW)

    assert staffed.get(Child, "C9").key_worker_id == "S2"


@pytest.fixture
def two_in_early_help(staffed: Session, tmp_path: Path) -> Session:
    """STAFF_CSV, with a second member (S7) in team Early Help North."""
    import_staff(session=staffed, path=write(tmp_path, "s7.csv", f"{STAFF_HEADER}\n"
                 "S7,Gus Gray,gus@example.org,key_worker,Early Help North,Early Help,,no,no\n"), now=NOW)
    staffed.commit()
    return staffed


MOVE_S6 = f"{STAFF_HEADER}\nS6,Eve Early,eve@example.org,key_worker,Early Help North,Children's Social Care,,yes,no\n"


def service_of_team(session: Session, name: str) -> str:
    team = session.scalars(select(Team).where(Team.name == name)).one()
    session.refresh(team)
    return team.service.name


def test_a_file_moving_a_team_without_all_its_members_is_refused(two_in_early_help: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", MOVE_S6)

    messages = refused(two_in_early_help, lambda: import_staff(session=two_in_early_help, path=path, now=NOW))

    assert messages == [
        "staff.csv row 2, column service: moves team 'Early Help North' from service 'Early Help' to "
        "\"Children's Social Care\", but 1 of its members in the database is not in this file (S7); give each of "
        "them a row with the new service, or import with --move-teams to move the whole team",
    ]


def test_move_teams_moves_the_team_and_its_members_not_in_the_file(two_in_early_help: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", MOVE_S6)

    summary = import_staff(session=two_in_early_help, path=path, now=NOW, move_teams=True)
    two_in_early_help.commit()

    assert str(summary) == (
        "staff.csv: 0 created, 1 updated\n  team 'Early Help North' moved from service 'Early Help' to "
        "\"Children's Social Care\" (--move-teams; 1 member not in the file moved with it: S7)"
    )
    assert service_of_team(two_in_early_help, "Early Help North") == "Children's Social Care"
    gus = two_in_early_help.get(Staff, "S7")
    two_in_early_help.refresh(gus)
    assert gus.service.name == "Children's Social Care"


def test_a_file_moving_a_team_with_every_member_moves_it_and_says_so(two_in_early_help: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", MOVE_S6 + "S7,Gus Gray,gus@example.org,key_worker,Early Help North,"
                 "Children's Social Care,,no,no\n")

    summary = import_staff(session=two_in_early_help, path=path, now=NOW)
    two_in_early_help.commit()

    assert str(summary) == (
        "staff.csv: 0 created, 2 updated\n  team 'Early Help North' moved from service 'Early Help' to "
        "\"Children's Social Care\" (every member of it is in the file)"
    )
    assert service_of_team(two_in_early_help, "Early Help North") == "Children's Social Care"


def test_a_member_leaving_the_team_in_the_same_file_need_not_carry_its_new_service(
        two_in_early_help: Session, tmp_path: Path):
    # S7 moves to Assessment 1 in this file, so S6 is the whole of Early Help North that remains.
    path = write(tmp_path, "staff.csv", MOVE_S6 + "S7,Gus Gray,gus@example.org,key_worker,Assessment 1,"
                 "Children's Social Care,S2,no,no\n")

    import_staff(session=two_in_early_help, path=path, now=NOW)

    assert service_of_team(two_in_early_help, "Early Help North") == "Children's Social Care"


def test_a_refused_team_move_writes_nothing_else_from_the_file(two_in_early_help: Session, tmp_path: Path):
    path = write(tmp_path, "staff.csv", f"{STAFF_HEADER}\nS30,New Person,new@example.org,iro,,,,no,no\n"
                 "S3,Cara Renamed,cara@example.org,key_worker,Assessment 1,Children's Social Care,S2,no,TRUE\n"
                 + MOVE_S6.split("\n", 1)[1])

    messages = refused(two_in_early_help, lambda: import_staff(session=two_in_early_help, path=path, now=NOW))

    assert [m.split(":")[0] for m in messages] == ["staff.csv row 4, column service"]
    assert two_in_early_help.get(Staff, "S30") is None


def test_cli_import_staff_move_teams_flag_reports_the_move(runner: CliRunner, tmp_path: Path, engine):
    from auditcycle.cli import app

    write(tmp_path, "staff.csv", STAFF_CSV + "S7,Gus Gray,gus@example.org,key_worker,Early Help North,Early Help,,no,no\n")
    write(tmp_path, "move.csv", MOVE_S6)
    assert runner.invoke(app, ["import", "staff", "staff.csv"]).exit_code == 0

    without = runner.invoke(app, ["import", "staff", "move.csv"])
    moved = runner.invoke(app, ["import", "staff", "move.csv", "--move-teams"])

    assert without.exit_code == 1 and "--move-teams to move the whole team" in without.stderr
    assert (moved.exit_code, moved.stdout) == (0, (
        "staff.csv: 0 created, 1 updated\n  team 'Early Help North' moved from service 'Early Help' to "
        "\"Children's Social Care\" (--move-teams; 1 member not in the file moved with it: S7)\n"
    ).replace("staff.csv", "move.csv"))
