"""Who is who: recipients each once, the moderation panel, and who hears of a child's Immediate Response."""
import factories as make

from auditcycle.models.enums import Role
from auditcycle.notifications.message import Recipient
from auditcycle.people.directory import moderation_panel, recipients, service_managers_for
from auditcycle.people.permissions import panel_member_ids


def test_recipients_are_each_person_once_in_first_given_order(session) -> None:
    a, b = make.staff(session, "S1"), make.staff(session, "S2")

    found = recipients([b, None, a, b, a])

    assert found == [Recipient.of(b), Recipient.of(a)]


def test_the_panel_is_the_principal_social_worker_and_the_review_units_managers(session) -> None:
    review, other = make.service(session, "Review Unit"), make.service(session, "Early Help")
    psw = make.staff(session, "PSW", Role.PRINCIPAL_SOCIAL_WORKER)
    inside = make.staff(session, "SM-R", Role.SERVICE_MANAGER, in_service=review)
    make.staff(session, "SM-E", Role.SERVICE_MANAGER, in_service=other)
    make.staff(session, "KW-R", in_service=review)

    panel = moderation_panel(session, "Review Unit")

    assert [p.id for p in panel] == [psw.id, inside.id]
    assert panel_member_ids(session, "Review Unit") == {psw.id, inside.id}


def test_without_a_service_manager_the_assistant_directors_hear_of_a_child(session) -> None:
    team = make.team(session, "North")
    ad = make.staff(session, "AD1", Role.ASSISTANT_DIRECTOR)
    child = make.child(session, in_team=team, key_worker=make.staff(session, in_team=team))
    with_manager = make.team(session, "South")
    manager = make.staff(session, "SM1", Role.SERVICE_MANAGER, in_service=with_manager.service)
    managed = make.child(session, in_team=with_manager, key_worker=make.staff(session, in_team=with_manager))

    assert service_managers_for(session, child) == [ad]
    assert service_managers_for(session, managed) == [manager]
