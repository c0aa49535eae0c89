"""The audit form: its JSON shape, and every check a form must pass before it is stored."""
import json
import unicodedata
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from auditcycle.core.errors import UserError
from auditcycle.core.settings import FrameworkSettings
from auditcycle.core.text import breaks_line
from auditcycle.core.timescales import action_due_problem

MAX_FORM_BYTES = 2_000_000


class FormError(UserError):
    """A form that cannot be stored; the message lists every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''}, nothing stored:\n"
                         + "\n".join(f"  - {p}" for p in problems))


def _free_text(value: str) -> str:
    # NUL and other control characters are never typed on purpose, and PostgreSQL refuses NUL outright.
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
        raise ValueError("contains a control character such as NUL; only text, line breaks and tabs are allowed")
    return value


def _one_line(value: str) -> str:
    if breaks_line(value):
        raise ValueError("must be one line of text, without line breaks or control characters")
    return value


FreeText = Annotated[str, AfterValidator(_free_text)]
OneLine = Annotated[str, AfterValidator(_one_line)]


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
    interpreter_used: bool = False
    summary: FreeText = Field("", max_length=4000)


class ActionIn(BaseModel):
    """One action raised by the audit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    description: FreeText = Field(min_length=1, max_length=2000)
    owner_id: OneLine = Field(min_length=1, max_length=64)
    due: date


class ImmediateResponseIn(BaseModel):
    """A safeguarding concern raised by the form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: FreeText = Field(min_length=1, max_length=4000)


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


def validate_form(data: dict, *, source: str, framework: FrameworkSettings, today: date, known_staff: set[str],
                  domains: list[str] | None = None) -> AuditForm:
    """Check a form whole and return it, or raise one FormError listing every problem."""
    problems: list[str] = []
    form: AuditForm | None = None
    try:
        form = AuditForm.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(f"{_where(error['loc'])}: {error['msg']}")
    wanted = domains if domains is not None else list(framework.domains)
    allowed = ", ".join(framework.grades)
    grades = data.get("grades") if isinstance(data.get("grades"), dict) else {}
    actions = data.get("actions") if isinstance(data.get("actions"), list) else []
    for domain in wanted:
        if domain not in grades:
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
        if isinstance(owner, str) and owner.strip() and owner.strip() not in known_staff:
            problems.append(f"actions.{index}.owner_id: {owner[:64]!r} is not a known staff id")
        try:
            due = date.fromisoformat(str(action.get("due")))
        except ValueError:
            continue  # the schema check has already reported it
        if problem := action_due_problem(framework, due, today, since="the submission date"):
            problems.append(f"actions.{index}.due: {due} {problem}")
    if problems:
        # The same field can be reported by both passes; keep the first mention.
        raise FormError(source, list(dict.fromkeys(problems)))
    assert form is not None
    return form
