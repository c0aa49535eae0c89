"""The one conflict rule: nobody audits a child of their own team, their own caseload, their team's, or one
whose IRO, CP chair or service manager they are."""
from datetime import date

import factories as make
import pytest
from sqlalchemy import select

from auditcycle.core.clock import Month
from auditcycle.core.errors import UserError
from auditcycle.models import Audit, AuditCycle
from auditcycle.models.enums import CycleKind, Role
from auditcycle.sampling.adhoc import draw_adhoc
from auditcycle.sampling.cycle import draw, replace
from auditcycle.sampling.draw import Auditor, Candidate, may_audit
from auditcycle.sampling.requests import Asked, store_request

DEC = Month(2026, 12)
NOW = "2026-11-23T09:00"


def test_may_audit_refuses_the_team_the_key_worker_and_their_manager() -> None:
    child = Candidate(child_id="C1", team="North", key_worker_id="KW", key_worker_manager_id="TM")

    verdicts = {name: may_audit(Auditor(staff_id=name, team=team, new=False), child)
                for name, team in (("OTHER", "South"), ("SAME-TEAM", "North"), ("KW", "South"), ("TM", "South"))}

    assert verdicts == {"OTHER": True, "SAME-TEAM": False, "KW": False, "TM": False}
    assert child.conflicted_staff == frozenset({"KW", "TM"})


def _two_teams(session):
    """Two teams; each has a manager, a key worker with two children, and one auditor."""
    north, south = make.team(session, "North"), make.team(session, "South")
    people = {}
    for team in (north, south):
        manager = make.staff(session, f"TM-{team.name}", Role.TEAM_MANAGER, in_team=team)
        worker = make.staff(session, f"KW-{team.name}", in_team=team, manager=manager)
        people[team.name] = make.staff(session, f"AUD-{team.name}", in_team=team, auditor=True)
        for n in (1, 2):
            make.child(session, f"C-{team.name}-{n}", in_team=team, key_worker=worker,
                       last_supervision=date(2026, 10, 1))
    session.commit()
    return people


def test_draw_gives_each_child_an_auditor_from_the_other_team(session) -> None:
    _two_teams(session)

    draw(session, make.context_at(NOW), month=DEC, size=2, seed=3)
    session.commit()

    pairs = {(a.child.team.name, a.auditor.team.name) for a in session.scalars(select(Audit))}
    assert pairs <= {("North", "South"), ("South", "North")} and len(pairs) >= 1


def test_a_replacement_is_drawn_under_the_same_conflict_rule(session) -> None:
    people = _two_teams(session)
    qa = make.staff(session, "QA1", Role.QA_MANAGER)
    draw(session, make.context_at(NOW), month=DEC, size=2, seed=3)
    session.commit()
    first = session.scalars(select(Audit).order_by(Audit.id)).first()

    new = replace(session, make.context_at(NOW), reference=first.reference, by=qa.id, reason="Case closed")
    session.commit()

    assert new.auditor_id == first.auditor_id
    assert new.child.team_id != session.get(type(qa), new.auditor_id).team_id
    assert new.auditor_id in {p.id for p in people.values()}


def test_may_audit_refuses_the_childs_iro_cp_chair_and_service_manager() -> None:
    child = Candidate(child_id="C1", team="North", key_worker_id="KW", key_worker_manager_id="TM", iro_id="IRO",
                      cp_chair_id="CHAIR", service_manager_ids=frozenset({"SM"}))

    verdicts = {name: may_audit(Auditor(staff_id=name, team="Review Unit", new=False), child)
                for name in ("OTHER", "IRO", "CHAIR", "SM")}

    assert verdicts == {"OTHER": True, "IRO": False, "CHAIR": False, "SM": False}
    assert child.conflicted_staff == frozenset({"KW", "TM", "IRO", "CHAIR", "SM"})


def _small_authority(session, part: str):
    """A small authority: C1, in North, has an IRO, a CP chair or a service manager (`part`) who audits.

    The one other auditor, in South, has no part in C1's case; C2, of another service's team, has no IRO or chair.
    """
    csc, review = make.service(session, "Children's Social Care"), make.service(session, "Review Unit")
    north, south = make.team(session, "North", of=csc), make.team(session, "South", of=csc)
    west = make.team(session, "West", of=make.service(session, "Early Help"))
    unit = make.team(session, "Reviewing Officers", of=review)
    roles = {"iro": Role.IRO, "cp_chair": Role.CP_CHAIR, "service_manager": Role.SERVICE_MANAGER}
    # The service manager's own service is the child's; the IRO and the chair sit in the review unit.
    placed = {"in_service": csc} if part == "service_manager" else {"in_team": unit}
    involved = make.staff(session, "INVOLVED", roles[part], auditor=True, **placed)
    other = make.staff(session, "AUD-SOUTH", in_team=south, auditor=True)
    manager = make.staff(session, "TM-N", Role.TEAM_MANAGER, in_team=north)
    worker = make.staff(session, "KW-N", in_team=north, manager=manager)
    make.child(session, "C1", in_team=north, key_worker=worker, last_supervision=date(2026, 10, 1),
               iro=involved if part == "iro" else None, cp_chair=involved if part == "cp_chair" else None)
    make.child(session, "C2", in_team=west, key_worker=make.staff(session, "KW-W", in_team=west),
               last_supervision=date(2026, 10, 1))
    session.commit()
    return involved, other


@pytest.mark.parametrize("part", ["iro", "cp_chair", "service_manager"])
def test_draw_never_makes_the_childs_iro_cp_chair_or_service_manager_its_auditor(session, part) -> None:
    involved, other = _small_authority(session, part)

    allocations = []
    for seed in range(8):
        draw(session, make.context_at(NOW), month=DEC, size=2, seed=seed)
        allocations.append({a.child_id: a.auditor_id for a in session.scalars(select(Audit))})
        session.rollback()

    # Both children drawn, one each: the evenness of the load gives C2 to the one with a part in C1's case.
    assert allocations == [{"C1": other.id, "C2": involved.id}] * 8


@pytest.mark.parametrize(("part", "said"), [("iro", "is its IRO"), ("cp_chair", "is its CP chair"),
                                            ("service_manager", "is its service manager")])
def test_draw_with_only_the_childs_iro_cp_chair_or_service_manager_free_names_why(session, part, said) -> None:
    involved, other = _small_authority(session, part)
    # South's auditor leaves for the month, so only the one with a part in C1's case is free of North.
    other.active = False
    session.commit()

    with pytest.raises(UserError) as raised:
        draw(session, make.context_at(NOW), month=DEC, size=2, seed=1)
    session.rollback()

    assert str(raised.value) == f"the sample cannot be allocated: Cannot allocate every child. C1: every auditor {said}"
    assert session.scalars(select(AuditCycle)).all() == []


def test_a_replacement_is_never_a_child_whose_iro_is_the_auditor(session) -> None:
    north, south = make.team(session, "North"), make.team(session, "South")
    auditor = make.staff(session, "AUD-SOUTH", Role.IRO, in_team=south, auditor=True)
    worker = make.staff(session, "KW-N", in_team=north)
    qa = make.staff(session, "QA1", Role.QA_MANAGER)
    make.child(session, "C1", in_team=north, key_worker=worker, last_supervision=date(2026, 10, 1))
    draw(session, make.context_at(NOW), month=DEC, size=1, seed=3)
    # Taken on after the draw: the only other North child, whose IRO is the auditor.
    make.child(session, "C2", in_team=north, key_worker=worker, iro=auditor, last_supervision=date(2026, 10, 1))
    session.commit()

    with pytest.raises(UserError, match="no other eligible child in North can be audited by AUD-SOUTH"):
        replace(session, make.context_at(NOW), reference=f"A-{DEC}-001", by=qa.id, reason="Case closed")
    session.rollback()
    make.child(session, "C3", in_team=north, key_worker=worker, last_supervision=date(2026, 10, 1))
    session.commit()
    new = replace(session, make.context_at(NOW), reference=f"A-{DEC}-001", by=qa.id, reason="Case closed")

    assert (new.child_id, new.auditor_id) == ("C3", "AUD-SOUTH")


def test_an_adhoc_draw_never_makes_the_childs_service_manager_its_auditor(session) -> None:
    involved, other = _small_authority(session, "service_manager")
    other.active = False
    qa = make.staff(session, "QA1", Role.QA_MANAGER)
    session.commit()
    ctx = make.context_at(NOW)
    request = store_request(session, ctx, asked=Asked(kind=CycleKind.DEEP_DIVE, theme="Neglect", size=2,
                                                      due=date(2026, 12, 4)), by=qa.id)
    session.commit()

    with pytest.raises(UserError, match="C1: every auditor is its service manager"):
        draw_adhoc(session, ctx, request=request, seed=1)
