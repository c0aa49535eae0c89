"""Signed links: single use naming who and when, refused when tampered, expired, withdrawn or for another act."""
import base64
import json
import logging
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import PLANTED
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.core.settings import Settings, describe_problem
from auditcycle.links.tokens import (
    LinkProblem,
    LinkProblemKind,
    issue_link,
    link_expires_at,
    read_link,
    reissue,
    revoke_links,
    use_link,
)
from auditcycle.models import Child, Link, LinkSecret, Staff

LONDON = ZoneInfo("Europe/London")
BASE = "https://audits.council.example"
KEY_A, KEY_B = "a" * 40, "b" * 40
NOW = "2026-12-01T10:00"


def _settings(**overrides) -> Settings:
    return Settings(**{"database_url": "sqlite://", "base_url": BASE, **overrides})


def _ctx(now: str = NOW, **overrides):
    return build_context(now, settings=_settings(**overrides))


def _people(s: Session) -> tuple[Staff, Staff]:
    first, second = s.scalars(select(Staff).where(Staff.active).order_by(Staff.id).limit(2))
    return first, second


def _token(url: str) -> str:
    assert url.startswith(f"{BASE}/act/")
    return url.removeprefix(f"{BASE}/act/")


def _issue(s: Session, ctx, staff: Staff, **kw) -> str:
    url = issue_link(s, ctx, purpose=kw.pop("purpose", "action-sign-off"),
                     subject_ref=kw.pop("subject_ref", "ACT-2026-12-001"), staff=staff, **kw)
    s.commit()
    return _token(url)


def _refused(s: Session, ctx, token: str, purpose: str | None = None) -> LinkProblem:
    with pytest.raises(LinkProblem) as caught:
        read_link(s, ctx, token, purpose)
    assert not token or token not in str(caught.value)
    return caught.value


def test_a_link_is_used_once_and_a_second_use_names_who_and_when(s: Session) -> None:
    ctx = _ctx()
    holder, _ = _people(s)
    token = _issue(s, ctx, holder)

    link = read_link(s, ctx, token, "action-sign-off")
    assert (link.purpose, link.subject_ref, link.staff_id, link.used_at) == (
        "action-sign-off", "ACT-2026-12-001", holder.id, None)
    use_link(s, ctx, link)
    s.commit()

    later = _ctx("2026-12-01T11:30")
    problem = _refused(s, later, token, "action-sign-off")
    assert problem.kind == LinkProblemKind.USED and not problem.can_reissue
    assert str(problem) == (f"This was already done by {holder.name} at 10:00 on Tuesday 1 December 2026. "
                            "Nothing was changed.")
    with pytest.raises(LinkProblem) as again:
        use_link(s, later, link)
    assert again.value.kind == LinkProblemKind.USED
    s.commit()
    assert s.get(Link, link.id).used_at == datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)


def test_an_act_is_done_once_whichever_of_its_links_is_followed(s: Session) -> None:
    ctx = _ctx()
    holder, other = _people(s)
    notice, reminder = _issue(s, ctx, holder), _issue(s, ctx, holder)
    others = _issue(s, ctx, other)
    read_first = read_link(s, ctx, notice)

    use_link(s, ctx, read_link(s, ctx, reminder))
    s.commit()
    with pytest.raises(LinkProblem) as stale:
        use_link(s, ctx, read_first)
    assert stale.value.kind == LinkProblemKind.USED

    later = _ctx("2026-12-02T09:00")
    problem = _refused(s, later, notice)
    assert problem.kind == LinkProblemKind.USED and holder.name in str(problem) and "10:00 on Tuesday" in str(problem)
    with pytest.raises(LinkProblem):
        reissue(s, later, problem.link)
    assert read_link(s, later, others).staff_id == other.id


def test_a_replaced_link_says_the_act_was_done_through_the_new_one(s: Session) -> None:
    ctx = _ctx()
    holder, _ = _people(s)
    old = _issue(s, ctx, holder)
    fresh = _token(reissue(s, ctx, read_link(s, ctx, old)))
    assert _refused(s, ctx, old).kind == LinkProblemKind.REVOKED
    use_link(s, ctx, read_link(s, ctx, fresh))
    s.commit()

    assert _refused(s, ctx, old).kind == LinkProblemKind.USED


@pytest.mark.parametrize("damage", ["flip_signature", "flip_payload", "cut_short", "empty", "not_a_token"])
def test_a_tampered_link_is_refused(s: Session, damage: str) -> None:
    ctx = _ctx()
    token = _issue(s, ctx, _people(s)[0])
    body, _, signature = token.rpartition(".")
    flip = {"a": "b"}.get
    damaged = {
        "flip_signature": f"{body}.{signature[:5]}{flip(signature[5], 'a')}{signature[6:]}",
        "flip_payload": f"{body[:3]}{flip(body[3], 'a')}{body[4:]}.{signature}",
        "cut_short": token[:-4],
        "empty": "",
        "not_a_token": "x" * 5000,
    }[damage]
    assert damaged != token

    problem = _refused(s, ctx, damaged)
    assert problem.kind == LinkProblemKind.TAMPERED and problem.link is None
    assert "ask the Quality Assurance team (qa-team@example.org)" in str(problem)


def test_a_link_for_one_act_is_refused_for_another(s: Session) -> None:
    ctx = _ctx()
    token = _issue(s, ctx, _people(s)[0])

    problem = _refused(s, ctx, token, "moderation-decision")
    assert problem.kind == LinkProblemKind.WRONG_PURPOSE and not problem.can_reissue


def test_an_expired_link_is_refused_and_a_fresh_one_replaces_it(s: Session) -> None:
    ctx = _ctx()
    holder, _ = _people(s)
    token = _issue(s, ctx, holder)
    expired_at = _ctx("2026-12-15T10:00")

    problem = _refused(s, expired_at, token)
    assert problem.kind == LinkProblemKind.EXPIRED and problem.can_reissue
    assert str(problem) == "This link expired at 10:00 on Tuesday 15 December 2026. A fresh link can be mailed to you."

    fresh = _token(reissue(s, expired_at, problem.link))
    s.commit()
    link = read_link(s, expired_at, fresh, "action-sign-off")
    assert (link.staff_id, link.subject_ref, link.expires_at) == (
        holder.id, "ACT-2026-12-001", datetime(2026, 12, 29, 10, 0, tzinfo=LONDON))
    assert _refused(s, expired_at, token).kind == LinkProblemKind.REVOKED


def test_a_withdrawn_link_is_refused_and_a_leavers_is_not_reissued(s: Session) -> None:
    ctx = _ctx()
    leaver, other = _people(s)
    tokens = [_issue(s, ctx, leaver, subject_ref=f"ACT-2026-12-00{n}") for n in (1, 2)]
    used = read_link(s, ctx, _issue(s, ctx, leaver, subject_ref="ACT-2026-12-003"))
    use_link(s, ctx, used)
    kept = _issue(s, ctx, other)

    assert revoke_links(s, _ctx("2026-12-02T09:00"), staff_id=leaver.id, reason="left the council") == 2
    leaver.active = False
    s.commit()

    problem = _refused(s, ctx, tokens[0])
    assert problem.kind == LinkProblemKind.REVOKED and not problem.can_reissue
    assert str(problem).startswith("This link was withdrawn at 09:00 on Wednesday 2 December 2026 (left the council).")
    with pytest.raises(UserError, match="no longer active"):
        reissue(s, ctx, problem.link)
    assert s.get(Link, used.id).revoked_at is None
    assert read_link(s, ctx, kept).staff_id == other.id


def test_a_link_lasts_the_later_of_14_days_and_5_working_days_after_its_deadline(s: Session) -> None:
    ctx = _ctx("2026-12-22T09:00")
    # Due Christmas Eve: Christmas Day, the weekend, the Boxing Day substitute (28th) and New Year's Day don't count.
    assert link_expires_at(ctx, datetime(2026, 12, 24).date()) == datetime(2027, 1, 5, 17, 0, tzinfo=LONDON)
    assert link_expires_at(ctx, datetime(2026, 12, 24, 12, 0, tzinfo=LONDON)) == datetime(2027, 1, 5, 12, 0,
                                                                                           tzinfo=LONDON)
    assert link_expires_at(ctx, datetime(2026, 12, 4).date()) == ctx.now + timedelta(days=14)
    assert link_expires_at(ctx, None) == datetime(2027, 1, 5, 9, 0, tzinfo=LONDON)

    token = _issue(s, ctx, _people(s)[0], deadline=datetime(2026, 12, 24).date())
    assert read_link(s, _ctx("2027-01-05T16:59"), token).expires_at == datetime(2027, 1, 5, 17, 0, tzinfo=LONDON)
    assert _refused(s, _ctx("2027-01-05T17:00"), token).kind == LinkProblemKind.EXPIRED


def test_keys_rotate_newest_first_and_a_dropped_key_no_longer_reads(s: Session) -> None:
    holder, _ = _people(s)
    old = _issue(s, _ctx(link_secret_keys=[KEY_A]), holder)
    rotated = _ctx(link_secret_keys=[KEY_B, KEY_A])

    assert read_link(s, rotated, old).staff_id == holder.id
    new = _issue(s, rotated, holder, subject_ref="ACT-2026-12-002")
    assert read_link(s, _ctx(link_secret_keys=[KEY_B]), new).subject_ref == "ACT-2026-12-002"
    assert _refused(s, _ctx(link_secret_keys=[KEY_B]), old).kind == LinkProblemKind.TAMPERED
    assert _refused(s, _ctx(link_secret_keys=[KEY_A]), new).kind == LinkProblemKind.TAMPERED


def test_unset_keys_use_one_secret_made_once_in_the_database(s: Session) -> None:
    holder, _ = _people(s)
    assert _refused(s, _ctx(), "eyJwIjoiYWN0aW9uLXNpZ24tb2ZmIn0.abc").kind == LinkProblemKind.TAMPERED
    first = _issue(s, _ctx(), holder)
    second = _issue(s, _ctx(), holder, subject_ref="ACT-2026-12-002")

    assert s.scalar(select(func.count()).select_from(LinkSecret)) == 1
    assert {read_link(s, _ctx(), t).subject_ref for t in (first, second)} == {"ACT-2026-12-001", "ACT-2026-12-002"}
    # A configured key replaces the stored secret: links it signed no longer read.
    assert _refused(s, _ctx(link_secret_keys=[KEY_A]), first).kind == LinkProblemKind.TAMPERED


def test_the_same_key_gives_the_same_link_and_one_row(s: Session) -> None:
    ctx = _ctx()
    holder, other = _people(s)
    first = _issue(s, ctx, holder, key="msg:action-sign-off:ACT-2026-12-001:S1")
    again = _issue(s, _ctx("2026-12-01T12:00"), holder, key="msg:action-sign-off:ACT-2026-12-001:S1")

    assert first == again
    assert s.scalar(select(func.count()).select_from(Link)) == 1
    with pytest.raises(UserError, match="key: already names the link for another act"):
        issue_link(s, ctx, purpose="action-sign-off", subject_ref="ACT-2026-12-001", staff=other,
                   key="msg:action-sign-off:ACT-2026-12-001:S1")
    assert _issue(s, ctx, holder) != first  # without a key, each email gets a link of its own


@pytest.mark.parametrize(("field", "given"), [
    ("purpose", {"purpose": "Sign Off"}),
    ("subject_ref", {"subject_ref": f"{PLANTED['child_first']} {PLANTED['child_last']}"}),
    ("subject_ref", {"subject_ref": "kay@council.example"}),
    ("deadline", {"deadline": "2026-12-24"}),
    ("deadline", {"deadline": datetime(2026, 12, 24, 17, 0)}),
    ("key", {"key": "line\nbreak"}),
])
def test_a_bad_request_is_refused_naming_the_field_and_writes_nothing(s: Session, field, given) -> None:
    asked = {"purpose": "action-sign-off", "subject_ref": "ACT-2026-12-001", **given}
    with pytest.raises(UserError, match=f"^{field}: "):
        issue_link(s, _ctx(), staff=_people(s)[0], **asked)
    s.commit()
    assert s.scalar(select(func.count()).select_from(Link)) == 0
    assert s.scalar(select(func.count()).select_from(LinkSecret)) == 0


def test_the_url_carries_only_a_purpose_a_subject_and_a_random_id(s: Session, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = _ctx()
    holder, _ = _people(s)
    url = issue_link(s, ctx, purpose="action-sign-off", subject_ref="ACT-2026-12-001", staff=holder)
    s.commit()
    link = read_link(s, ctx, _token(url))
    use_link(s, ctx, link)
    s.commit()

    body = _token(url).split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload == {"p": "action-sign-off", "s": "ACT-2026-12-001", "i": link.id}
    child = s.scalars(select(Child)).first()
    for personal in (holder.name, holder.id, holder.email, child.first_name, child.last_name, PLANTED["dob"]):
        assert personal.lower() not in url.lower()
    assert _token(url) not in caplog.text


def test_a_use_from_a_stale_read_is_refused_by_the_database(authority) -> None:
    # Both requests read the link unused; the second one's write finds it used and changes nothing.
    ctx = _ctx()
    with Session(authority, expire_on_commit=False) as first, Session(authority, expire_on_commit=False) as second:
        token = _issue(first, ctx, _people(first)[0])
        stale = read_link(second, ctx, token)
        second.commit()
        use_link(first, ctx, read_link(first, ctx, token))
        first.commit()

        assert stale.used_at is None
        with pytest.raises(LinkProblem) as caught:
            use_link(second, _ctx("2026-12-01T10:05"), stale)
        assert caught.value.kind == LinkProblemKind.USED and "at 10:00 on" in str(caught.value)
        second.commit()


def test_of_four_uses_at_once_exactly_one_succeeds(authority) -> None:
    ctx = _ctx()
    with Session(authority) as s:
        token = _issue(s, ctx, _people(s)[0])
    start, outcomes = threading.Barrier(4), []

    def attempt() -> None:
        with Session(authority, expire_on_commit=False) as session:
            link = read_link(session, ctx, token)
            session.commit()
            start.wait(timeout=30)
            try:
                use_link(session, ctx, link)
                session.commit()
                outcomes.append("succeeded")
            except LinkProblem as problem:
                session.rollback()
                outcomes.append(problem.kind)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["succeeded", "used", "used", "used"]


def test_a_short_link_secret_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as caught:
        _settings(link_secret_keys=[KEY_A, "tooshort-secret"])
    said = describe_problem(caught.value)
    assert "link_secret_keys: Value error, key 2 is shorter than 32 characters" in said
    assert "tooshort-secret" not in said


def test_the_base_address_is_a_web_address_without_a_trailing_slash() -> None:
    assert _settings(base_url="https://audits.council.example/").base_url == BASE
    for wrong in ("audits.council.example", "ftp://audits.council.example", "https://audits.council.example/?a=1"):
        with pytest.raises(ValidationError, match="base_url"):
            _settings(base_url=wrong)
