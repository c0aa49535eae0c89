"""A synthetic authority for demonstrations and tests: services, teams, staff, children and diaries.

Everything is drawn from one seeded Faker and one local random.Random, and every date
derives from `now`, so the same seed and clock always give the same rows.
"""
import math
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from faker import Faker
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import add_months, localize
from auditcycle.core.errors import UserError
from auditcycle.core.timescales import Timescales
from auditcycle.models import BusyPeriod, Child, FamilyContact, Service, Staff, Team
from auditcycle.models.enums import Cohort, Role

Progress = Callable[[int, int], None]

EMAIL_DOMAIN = "council.example"
QA_SERVICE = "Quality Assurance & Practice Improvement"
SRU_SERVICE = "Safeguarding & Review Unit"
CHILDREN_PER_TEAM = 120  # above this a team is split into numbered teams of the same kind
CASELOAD_RANGE = (15, 20)  # children per key worker
IRO_CASELOAD = 60
CP_CHAIR_CASELOAD = 50
REVIEWERS_PER_TEAM = 12
NEWLY_QUALIFIED_SHARE = 0.15
NEW_AUDITOR_SHARE = 0.10
UNALLOCATED_SHARE = 0.02
OLD_SUPERVISION_SHARE = 0.03
NO_SUPERVISION_SHARE = 0.01
INTERPRETER_SHARE = 0.08
BUSY_HORIZON_DAYS = 56
BUSY_PER_PERSON = (3, 8)
CHUNK = 5000
SOURCE = "demo"

LANGUAGES = (
    "Polish", "Arabic", "Romanian", "Urdu", "Portuguese", "Kurdish", "Lithuanian",
    "Bengali", "Punjabi", "Somali", "Tigrinya", "Farsi",
)
RELATIONS = ("mother", "father", "grandparent", "carer", "stepparent", "aunt", "uncle")
ADULT_RELATIONS = ("mother", "father", "grandparent", "former foster carer", "personal adviser")
# Parents and grandparents usually share the child's surname, which makes calls easier to follow.
SHARED_SURNAME = frozenset({"mother", "father", "grandparent"})

AGES: dict[Cohort, tuple[int, int]] = {
    Cohort.EARLY_HELP: (0, 17),
    Cohort.CHILD_IN_NEED: (0, 17),
    Cohort.CHILD_PROTECTION: (0, 17),
    Cohort.CARED_FOR: (0, 17),
    Cohort.YOUTH_JUSTICE: (10, 17),
    Cohort.CARE_EXPERIENCED: (18, 24),
}


@dataclass(frozen=True)
class TeamKind:
    """A kind of team: where it sits, its share of the caseload and the cohorts it holds."""

    service: str
    name: str
    share: float
    cohorts: tuple[tuple[Cohort, float], ...]


TEAM_KINDS: tuple[TeamKind, ...] = (
    TeamKind("Children's Social Care", "Assessment North", 0.08,
             ((Cohort.CHILD_IN_NEED, 0.75), (Cohort.CHILD_PROTECTION, 0.25))),
    TeamKind("Children's Social Care", "Assessment South", 0.08,
             ((Cohort.CHILD_IN_NEED, 0.75), (Cohort.CHILD_PROTECTION, 0.25))),
    TeamKind("Children's Social Care", "Child Protection", 0.10, ((Cohort.CHILD_PROTECTION, 1.0),)),
    TeamKind("Children's Social Care", "Children in Need", 0.12, ((Cohort.CHILD_IN_NEED, 1.0),)),
    TeamKind("Children's Social Care", "Cared For North", 0.08, ((Cohort.CARED_FOR, 1.0),)),
    TeamKind("Children's Social Care", "Cared For South", 0.08, ((Cohort.CARED_FOR, 1.0),)),
    TeamKind("Early Help", "Early Help Central", 0.14, ((Cohort.EARLY_HELP, 1.0),)),
    TeamKind("Early Help", "Targeted Family Support", 0.10, ((Cohort.EARLY_HELP, 1.0),)),
    TeamKind("Youth Justice", "Youth Justice", 0.06, ((Cohort.YOUTH_JUSTICE, 1.0),)),
    TeamKind("Care Experienced", "Care Experienced 16+", 0.08, ((Cohort.CARE_EXPERIENCED, 1.0),)),
    TeamKind("Care Experienced", "Leaving Care", 0.08, ((Cohort.CARE_EXPERIENCED, 1.0),)),
)
SERVICES = (
    "Children's Social Care", "Early Help", "Youth Justice", "Care Experienced", SRU_SERVICE, QA_SERVICE,
)
OPERATIONAL_SERVICES = frozenset({"Children's Social Care", "Early Help", "Youth Justice", "Care Experienced"})
REVIEW_TEAMS = (("IRO Team", Role.IRO), ("CP Chairs", Role.CP_CHAIR))


@dataclass(frozen=True)
class DemoSummary:
    """How many rows of each kind the seed wrote."""

    services: int
    teams: int
    staff: int
    auditors: int
    children: int
    contacts: int
    busy_periods: int


@dataclass
class _CaseTeam:
    """One team that holds children, with its caseload size and key workers."""

    team_id: int
    kind: TeamKind
    children: int
    key_workers: list[str]


class _Builder:
    """Draw rows in a fixed order from one Faker and one Random, so a seed replays exactly."""

    def __init__(self, *, seed: int, now: datetime, timescales: Timescales) -> None:
        self.fake = Faker("en_GB")
        self.fake.seed_instance(seed)
        self.rng = random.Random(seed)
        self.timescales = timescales
        self.today = timescales.today(now)
        self.staff: list[dict] = []
        self.emails: set[str] = set()

    def person(self, *, role: Role, team_id: int | None, service_id: int | None,
               manager_id: str | None, auditor: bool) -> str:
        """Add one member of staff and return the new staff id."""
        first, last = self.fake.first_name(), self.fake.last_name()
        staff_id = f"S{len(self.staff) + 1:04d}"
        self.staff.append({
            "id": staff_id, "name": f"{first} {last}", "email": self._email(first, last),
            "role": role, "team_id": team_id, "service_id": service_id, "manager_id": manager_id,
            "auditor": auditor, "newly_qualified": False, "new_auditor": False, "active": True,
        })
        return staff_id

    def _email(self, first: str, last: str) -> str:
        local = f"{_ascii_slug(first)}.{_ascii_slug(last)}"
        candidate, n = local, 1
        while candidate in self.emails:
            n += 1
            candidate = f"{local}{n}"
        self.emails.add(candidate)
        return f"{candidate}@{EMAIL_DOMAIN}"

    def flag_newly_qualified(self) -> None:
        """Mark about one key worker in seven as newly qualified, at least one."""
        pool = [s for s in self.staff if s["role"] is Role.KEY_WORKER]
        for row in self.rng.sample(pool, min(len(pool), max(1, round(len(pool) * NEWLY_QUALIFIED_SHARE)))):
            row["newly_qualified"] = True

    def flag_new_auditors(self) -> None:
        """Mark about a tenth of the auditors below AD and outside QA as new to auditing."""
        pool = [s for s in self.staff if s["auditor"] and s["role"] in
                (Role.TEAM_MANAGER, Role.SERVICE_MANAGER, Role.IRO, Role.CP_CHAIR)]
        auditors = sum(1 for s in self.staff if s["auditor"])
        for row in self.rng.sample(pool, min(len(pool), max(1, round(auditors * NEW_AUDITOR_SHARE)))):
            row["new_auditor"] = True

    def date_of_birth(self, cohort: Cohort) -> date:
        """Draw a birthday that makes the child an age within the cohort's range today."""
        age = self.rng.randint(*AGES[cohort])
        latest = add_months(self.today, -12 * age)
        earliest = add_months(self.today, -12 * (age + 1)) + timedelta(days=1)
        return latest - timedelta(days=self.rng.randint(0, (latest - earliest).days))

    def last_supervision(self) -> date | None:
        """Draw a supervision date: mostly recent, a few past the gap, a very few never."""
        roll = self.rng.random()
        if roll < NO_SUPERVISION_SHARE:
            return None
        if roll < NO_SUPERVISION_SHARE + OLD_SUPERVISION_SHARE:
            gap = add_months(self.today, -self.timescales.framework.supervision_gap_months)
            return gap - timedelta(days=self.rng.randint(1, 120))
        return self.today - timedelta(days=self.rng.randint(14, 92))

    def contacts(self, child_id: str, cohort: Cohort, last_name: str) -> list[dict]:
        """Draw the child's family contacts: one to three, or at most one for a young adult."""
        if cohort is Cohort.CARE_EXPERIENCED:
            relations = self.rng.sample(ADULT_RELATIONS, self.rng.randint(0, 1))
        else:
            relations = self.rng.sample(RELATIONS, self.rng.randint(1, 3))
            if cohort is Cohort.CARED_FOR:
                relations[0] = "foster carer"
        rows = []
        for relation in relations:
            surname = last_name if relation in SHARED_SURNAME and self.rng.random() < 0.6 else self.fake.last_name()
            interpreter = self.rng.random() < INTERPRETER_SHARE
            rows.append({
                "child_id": child_id, "relation": relation, "name": f"{self.fake.first_name()} {surname}",
                "phone": self.fake.phone_number(),
                "language": self.rng.choice(LANGUAGES) if interpreter else None,
                "interpreter_needed": interpreter,
            })
        return rows

    def busy_periods(self, staff_id: str, days: list[tuple[date, datetime, datetime]]) -> list[dict]:
        """Draw a few diary entries on working days, in or overlapping working hours."""
        tz = self.timescales.tz
        seen: set[tuple[datetime, datetime]] = set()
        rows = []
        for _ in range(self.rng.randint(*BUSY_PER_PERSON)):
            day, open_at, close_at = self.rng.choice(days)
            kind = self.rng.random()
            if kind < 0.15:  # annual leave: the whole working day
                start, end = open_at, close_at
            elif kind < 0.30:  # court: most of the day
                start = localize(datetime.combine(day, time(10, 0)), tz)
                end = localize(datetime.combine(day, time(self.rng.choice((13, 15, 16)), 0)), tz)
            elif kind < 0.45:  # training: a morning or an afternoon
                hour = self.rng.choice((9, 13))
                start = localize(datetime.combine(day, time(hour, 30)), tz)
                end = start + timedelta(hours=3)
            elif kind < 0.55:  # early or late meeting spilling over the edge of the day
                start = open_at - timedelta(minutes=60) if self.rng.random() < 0.5 else close_at - timedelta(minutes=30)
                end = start + timedelta(minutes=90)
            else:  # a visit or meeting within the day
                start = open_at + timedelta(minutes=30 * self.rng.randint(0, 13))
                end = min(start + timedelta(minutes=self.rng.choice((60, 90, 120))), close_at + timedelta(hours=1))
            if (start, end) not in seen:
                seen.add((start, end))
                rows.append({"staff_id": staff_id, "starts_at": start, "ends_at": end, "source": SOURCE})
        return rows


def seed_authority(*, session: Session, children: int, seed: int, now: datetime,
                   timescales: Timescales, progress: Progress | None = None) -> DemoSummary:
    """Fill an empty database with a synthetic authority, without committing."""
    if children < 1:
        raise UserError("--children must be at least 1")
    if now.tzinfo is None:
        raise UserError("seed-demo needs a clock with a time zone")
    _refuse_if_not_empty(session)
    builder = _Builder(seed=seed, now=now, timescales=timescales)

    services = {name: Service(name=name) for name in SERVICES}
    session.add_all(services.values())
    session.flush()
    sid = {name: s.id for name, s in services.items()}

    ad_sqa = builder.person(role=Role.ASSISTANT_DIRECTOR, team_id=None, service_id=None, manager_id=None, auditor=True)
    ad_ops = builder.person(role=Role.ASSISTANT_DIRECTOR, team_id=None, service_id=None, manager_id=None, auditor=True)
    service_managers = {
        name: builder.person(role=Role.SERVICE_MANAGER, team_id=None, service_id=sid[name],
                             manager_id=ad_ops if name in OPERATIONAL_SERVICES else ad_sqa, auditor=True)
        for name in SERVICES if name != QA_SERVICE
    }
    # The framework's QA/Practice Improvement Service Manager is also the Principal Social Worker.
    psw = builder.person(role=Role.PRINCIPAL_SOCIAL_WORKER, team_id=None, service_id=sid[QA_SERVICE],
                         manager_id=ad_sqa, auditor=True)
    for role in (Role.QA_MANAGER, Role.PRACTICE_IMPROVEMENT_MANAGER, Role.PRACTICE_IMPROVEMENT_MANAGER):
        builder.person(role=role, team_id=None, service_id=sid[QA_SERVICE], manager_id=psw, auditor=True)

    case_teams = _case_teams(session, builder, children, sid, service_managers)
    reviewers = _review_teams(session, builder, case_teams, sid, service_managers[SRU_SERVICE])
    builder.flag_newly_qualified()
    builder.flag_new_auditors()
    session.execute(insert(Staff), builder.staff)

    child_total, contact_total = 0, 0
    for child_rows, contact_rows in _children(builder, case_teams, reviewers):
        session.execute(insert(Child), child_rows)
        if contact_rows:
            session.execute(insert(FamilyContact), contact_rows)
        child_total += len(child_rows)
        contact_total += len(contact_rows)
        if progress is not None:
            progress(child_total, children)

    days = [
        (day, *timescales.working_hours(day))
        for day in (builder.today + timedelta(days=i) for i in range(1, BUSY_HORIZON_DAYS + 1))
        if timescales.is_working_day(day)
    ]
    busy_total, batch = 0, []
    for row in builder.staff:
        batch.extend(builder.busy_periods(row["id"], days))
        if len(batch) >= CHUNK:
            session.execute(insert(BusyPeriod), batch)
            busy_total, batch = busy_total + len(batch), []
    if batch:
        session.execute(insert(BusyPeriod), batch)
        busy_total += len(batch)
    session.flush()
    return DemoSummary(
        services=len(services),
        teams=session.scalar(select(func.count()).select_from(Team)) or 0,
        staff=len(builder.staff),
        auditors=sum(1 for s in builder.staff if s["auditor"]),
        children=child_total,
        contacts=contact_total,
        busy_periods=busy_total,
    )


def _refuse_if_not_empty(session: Session) -> None:
    for model, noun in ((Staff, "staff"), (Service, "services"), (Child, "children")):
        n = session.scalar(select(func.count()).select_from(model)) or 0
        if n:
            raise UserError(f"the database already holds {n} {noun}; seed-demo fills an empty database")


def _case_teams(session: Session, builder: _Builder, children: int, sid: dict[str, int],
                service_managers: dict[str, str]) -> list[_CaseTeam]:
    """Create the teams that hold children, split to a manageable size, with their staff."""
    rng = builder.rng
    plan: list[tuple[TeamKind, str, int]] = []
    for kind, share in zip(TEAM_KINDS, _apportion(children, [k.share for k in TEAM_KINDS]), strict=True):
        copies = max(1, round(share / CHILDREN_PER_TEAM))
        base, extra = divmod(share, copies)
        for n in range(copies):
            plan.append((kind, kind.name if n == 0 else f"{kind.name} {n + 1}", base + (n < extra)))
    teams = [Team(name=name, service_id=sid[kind.service]) for kind, name, _ in plan]
    session.add_all(teams)
    session.flush()
    result = []
    for team, (kind, _, size) in zip(teams, plan, strict=True):
        manager = builder.person(role=Role.TEAM_MANAGER, team_id=team.id, service_id=team.service_id,
                                 manager_id=service_managers[kind.service], auditor=True)
        n_workers = max(1, math.ceil(size / rng.randint(*CASELOAD_RANGE)))
        workers = [
            builder.person(role=Role.KEY_WORKER, team_id=team.id, service_id=team.service_id,
                           manager_id=manager, auditor=False)
            for _ in range(n_workers)
        ]
        result.append(_CaseTeam(team_id=team.id, kind=kind, children=size, key_workers=workers))
    return result


def _review_teams(session: Session, builder: _Builder, case_teams: list[_CaseTeam], sid: dict[str, int],
                  unit_manager: str) -> dict[Role, list[str]]:
    """Create the IRO and CP chair teams of the Safeguarding & Review Unit, sized to their caseloads."""
    cared_for = sum(t.children for t in case_teams if Cohort.CARED_FOR in dict(t.kind.cohorts))
    protection = sum(
        round(t.children * dict(t.kind.cohorts).get(Cohort.CHILD_PROTECTION, 0)) for t in case_teams
    )
    needed = {Role.IRO: max(2, math.ceil(cared_for / IRO_CASELOAD)),
              Role.CP_CHAIR: max(2, math.ceil(protection / CP_CHAIR_CASELOAD))}
    reviewers: dict[Role, list[str]] = {Role.IRO: [], Role.CP_CHAIR: []}
    for name, role in REVIEW_TEAMS:
        copies = math.ceil(needed[role] / REVIEWERS_PER_TEAM)
        sizes = _apportion(needed[role], [1.0] * copies)
        for n, size in enumerate(sizes):
            team = Team(name=name if n == 0 else f"{name} {n + 1}", service_id=sid[SRU_SERVICE])
            session.add(team)
            session.flush()
            manager = builder.person(role=Role.TEAM_MANAGER, team_id=team.id, service_id=team.service_id,
                                     manager_id=unit_manager, auditor=True)
            reviewers[role].extend(
                builder.person(role=role, team_id=team.id, service_id=team.service_id,
                               manager_id=manager, auditor=True)
                for _ in range(size)
            )
    return reviewers


def _children(builder: _Builder, case_teams: list[_CaseTeam],
              reviewers: dict[Role, list[str]]) -> Iterator[tuple[list[dict], list[dict]]]:
    """Yield children and their contacts in chunks, so a large authority never sits in memory."""
    rng, fake = builder.rng, builder.fake
    children: list[dict] = []
    contacts: list[dict] = []
    number = 100000
    for team in case_teams:
        workers = team.key_workers[:]
        rng.shuffle(workers)
        cohorts = [c for c, _ in team.kind.cohorts]
        weights = [w for _, w in team.kind.cohorts]
        allocated = 0
        for _ in range(team.children):
            number += 1
            child_id = f"C{number}"
            cohort = cohorts[0] if len(cohorts) == 1 else rng.choices(cohorts, weights)[0]
            if rng.random() < UNALLOCATED_SHARE:
                key_worker = None
            else:
                # Round robin keeps every caseload within the intended range.
                key_worker = workers[allocated % len(workers)]
                allocated += 1
            last_name = fake.last_name()
            children.append({
                "id": child_id, "first_name": fake.first_name(), "last_name": last_name,
                "date_of_birth": builder.date_of_birth(cohort), "cohort": cohort, "team_id": team.team_id,
                "key_worker_id": key_worker,
                "iro_id": rng.choice(reviewers[Role.IRO]) if cohort is Cohort.CARED_FOR else None,
                "cp_chair_id": rng.choice(reviewers[Role.CP_CHAIR]) if cohort is Cohort.CHILD_PROTECTION else None,
                "last_supervision_date": builder.last_supervision(),
            })
            contacts.extend(builder.contacts(child_id, cohort, last_name))
            if len(children) >= CHUNK:
                yield children, contacts
                children, contacts = [], []
    if children:
        yield children, contacts


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split a whole number in proportion to weights, largest remainders first, summing exactly."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _ascii_slug(text: str) -> str:
    """Reduce a name to lowercase ASCII letters, digits and hyphens for an email address."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9-]", "", ascii_text.replace(" ", "-")) or "staff"
