"""The audit form: its JSON shape, and every check a form must pass before it is stored."""
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, ValidationError

from auditcycle.core.clock import iso_day, not_a_day
from auditcycle.core.errors import UserError
from auditcycle.core.text import text_problem
from auditcycle.core.timescales import Timescales

MAX_FORM_BYTES = 2_000_000
SUMMARY_MAX = 4000


class FormError(UserError):
    """A form that cannot be stored; the message lists every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''}, nothing stored:\n"
                         + "\n".join(f"  - {p}" for p in problems))


def _characters(*, multiline: bool) -> AfterValidator:
    def check(value: str) -> str:
        if problem := text_problem(value, multiline=multiline):
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _day(value: object) -> date:
    # Strict: JSON has no dates, so a date is the string YYYY-MM-DD. A number (0 would be 1970-01-01) or a
    # date-time would otherwise be read by pydantic's lax rules and slip past the check on action dates.
    day = iso_day(value)
    if day is None:
        raise ValueError(f'{not_a_day(value)}; write the date as a string "YYYY-MM-DD", such as "2026-12-04"')
    return day


FreeText = Annotated[str, _characters(multiline=True)]
OneLine = Annotated[str, _characters(multiline=False)]
def _day_text(value: date | str) -> str:
    # A form read back from its stored JSON (a draft, a re-submission) may hold its dates as text already.
    return value.isoformat() if isinstance(value, date) else str(value)


Day = Annotated[date, PlainValidator(_day), PlainSerializer(_day_text, return_type=str, when_used="json")]


class DuplicateKey(ValueError):
    """A JSON object that names the same key twice, so one of the two values would be lost."""


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen[key] = value
    return seen


class FamilyFeedbackIn(BaseModel):
    """One attempted contact with the child or family."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    relationship: OneLine = Field(min_length=1, max_length=60)
    outcome: Literal["spoke", "declined", "unreachable", "not_appropriate"]
    # Left out, no interpreter was used; null is a question not answered, which a call that was held must answer.
    interpreter_used: bool | None = False
    summary: FreeText = Field("", max_length=SUMMARY_MAX)
    # The reference of the call booked for it (a meeting of this audit), once per call.
    meeting: OneLine | None = Field(None, min_length=1, max_length=40)


class ActionIn(BaseModel):
    """One action raised by the audit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    description: FreeText = Field(min_length=1, max_length=2000)
    owner_id: OneLine = Field(min_length=1, max_length=64)
    due: Day


class ImmediateResponseIn(BaseModel):
    """A safeguarding concern raised by the form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: FreeText = Field(min_length=1, max_length=4000)


class ConversationIn(BaseModel):
    """One of the framework's key conversations, as held: who with, when and for how long."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["learning_conversation", "iro_cp_chair", "team_manager"]
    held_on: Day
    minutes: int = Field(ge=5, le=480)


def _said(value: str) -> str:
    if not value.strip():
        raise ValueError("say why this domain does not apply to this audit")
    return value


Reason = Annotated[str, Field(max_length=2000), _characters(multiline=True), AfterValidator(_said)]
Evidence = Annotated[FreeText, Field(max_length=10_000)]


class AuditForm(BaseModel):
    """A completed audit form, as submitted in JSON."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    grades: dict[str, str]
    overall: str
    strengths: FreeText = Field("", max_length=10_000)
    practitioner_feedback: FreeText = Field("", max_length=10_000)
    family_feedback: list[FamilyFeedbackIn] = Field(default_factory=list, max_length=20)
    actions: list[ActionIn] = Field(default_factory=list, max_length=50)
    immediate_response: ImmediateResponseIn | None = None
    disagreement: bool = False
    # Per domain: the evidence for its grade, and for the few a setting allows, why it does not apply.
    evidence: dict[str, Evidence] = Field(default_factory=dict)
    not_applicable: dict[str, Reason] = Field(default_factory=dict)
    conversations: list[ConversationIn] = Field(default_factory=list, max_length=10)


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "form"


def read_form_file(path: Path) -> dict:
    """Read a form file as JSON, saying plainly what is wrong with an unreadable one."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    raw = path.read_bytes()
    if len(raw) > MAX_FORM_BYTES:
        raise UserError(f"{path.name}: the form is {len(raw):,} bytes; a form is at most {MAX_FORM_BYTES:,}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path.name}: not UTF-8 text (byte {exc.start}); save the form as UTF-8") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path.name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except DuplicateKey as exc:
        raise UserError(f"{path.name}: the key {str(exc)[:60]!r} appears twice in one object; give it once") from None
    except RecursionError:
        raise UserError(f"{path.name}: nested too deeply to be an audit form") from None
    except ValueError as exc:
        # Python refuses integers of more than 4,300 digits rather than spend the time converting them.
        raise UserError(f"{path.name}: not a usable JSON form ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path.name}: the form must be a JSON object with grades, overall, actions …")
    return data


def _family_problems(data: dict, calls: dict[str, str]) -> list[str]:
    """Check each family feedback row against the calls booked for the audit, and a held call's interpreter."""
    problems: list[str] = []
    rows = data.get("family_feedback") if isinstance(data.get("family_feedback"), list) else []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        if row.get("outcome") == "spoke" and "interpreter_used" in row and row["interpreter_used"] is None:
            problems.append(f"family_feedback.{index}.interpreter_used: say whether an interpreter was used")
        meeting = row.get("meeting")
        if not isinstance(meeting, str) or not meeting.strip():
            continue
        meeting = meeting.strip()
        if meeting not in calls:
            problems.append(f"family_feedback.{index}.meeting: {meeting[:40]!r} is not a call booked for this audit"
                            + (f" (its calls: {', '.join(calls)})" if calls else " (it has none booked)"))
        elif meeting in seen:
            problems.append(f"family_feedback.{index}.meeting: {meeting} is already recorded in row {seen[meeting]}; "
                            "record each call once")
        else:
            seen[meeting] = index
            said = row.get("relationship")
            if isinstance(said, str) and said.strip() and said.strip().casefold() != calls[meeting].casefold():
                problems.append(f"family_feedback.{index}.relationship: {said.strip()[:60]!r} is not whom {meeting} "
                                f"was booked with ({calls[meeting]})")
    return problems


def validate_form(data: dict, *, source: str, timescales: Timescales, today: date, known_staff: set[str],
                  domains: list[str] | None = None, may_not_apply: list[str] | None = None,
                  calls: dict[str, str] | None = None) -> AuditForm:
    """Check a form whole and return it, or raise one FormError listing every problem.

    `may_not_apply` names the domains this audit may mark not applicable (none if not given); `calls` gives
    the relationship of each call booked for the audit with the family or young person, by meeting reference.
    """
    framework = timescales.framework
    problems: list[str] = []
    refused: set[str] = set()
    form: AuditForm | None = None
    try:
        form = AuditForm.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            # Our own checks raise ValueError: show their words without pydantic's "Value error, " before them.
            cause = error.get("ctx", {}).get("error")
            refused.add(_where(error["loc"]))
            problems.append(f"{_where(error['loc'])}: {cause if isinstance(cause, ValueError) else error['msg']}")
    wanted = domains if domains is not None else list(framework.domains)
    allowed = ", ".join(framework.grades)
    grades = data.get("grades") if isinstance(data.get("grades"), dict) else {}
    actions = data.get("actions") if isinstance(data.get("actions"), list) else []
    unused = data.get("not_applicable") if isinstance(data.get("not_applicable"), dict) else {}
    optional = [d for d in (may_not_apply or []) if d in wanted]
    for domain in unused:
        if domain not in optional:
            problems.append(f"not_applicable.{domain}: the framework considers this domain in every audit"
                            + (f"; only {', '.join(optional)} may be not applicable here" if optional else ""))
        elif domain in grades:
            problems.append(f"not_applicable.{domain}: give a grade or say why it does not apply, not both")
    evidence = data.get("evidence") if isinstance(data.get("evidence"), dict) else {}
    for domain in evidence:
        if domain not in wanted:
            problems.append(f"evidence.{domain}: not an audit domain of this form (domains: {', '.join(wanted)})")
    conversations = data.get("conversations") if isinstance(data.get("conversations"), list) else []
    for index, held in enumerate(conversations):
        day = iso_day(held.get("held_on")) if isinstance(held, dict) else None
        if day is not None and day > today:
            problems.append(f"conversations.{index}.held_on: {day} is after the submission date; "
                            "record a conversation once it is held")
    problems += _family_problems(data, calls or {})
    for domain in wanted:
        if domain not in grades and not (domain in unused and domain in optional):
            problems.append(f"grades.{domain}: not graded (this form grades all of: {', '.join(wanted)})")
    for domain, grade in grades.items():
        if domain not in wanted:
            problems.append(f"grades.{domain}: not an audit domain of this form (domains: {', '.join(wanted)})")
        elif not isinstance(grade, str) or grade not in framework.grades:
            problems.append(f"grades.{domain}: {str(grade)[:40]!r} is not a grade (one of: {allowed})")
    overall = data.get("overall")
    if isinstance(overall, str) and overall.strip() not in framework.grades:
        problems.append(f"overall: {overall[:40]!r} is not a grade (one of: {allowed})")
    for index, action in enumerate(actions):
        if not isinstance(action, dict):
            continue
        owner = action.get("owner_id")
        if (isinstance(owner, str) and owner.strip() and f"actions.{index}.owner_id" not in refused
                and owner.strip() not in known_staff):
            problems.append(f"actions.{index}.owner_id: {owner[:64]!r} is not a known staff id")
        due = iso_day(action.get("due"))
        if due is None:
            continue  # not a date: the schema check has already said so
        if problem := timescales.action_due_problem(due, today, since="the submission date"):
            problems.append(f"actions.{index}.due: {due} {problem}")
    if problems:
        # The same field can be reported by both passes; keep the first mention.
        raise FormError(source, list(dict.fromkeys(problems)))
    assert form is not None
    return form
