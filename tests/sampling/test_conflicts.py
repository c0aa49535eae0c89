"""The one conflict rule: nobody audits a child of their own team, their own caseload, or their team's."""
from datetime import date

import factories as make
from sqlalchemy import select

from auditcycle.core.clock import Month
from auditcycle.models import Audit
from auditcycle.models.enums import Role
from auditcycle.sampling.cycle import draw, replace
from auditcycle.sampling.draw import Auditor, Candidate, may_audit

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
