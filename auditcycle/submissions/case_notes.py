"""Export the case note the framework asks to be added to the child's record for each finalised audit.

One UTF-8 text file per child, named by case id, holding every audit of that child finalised
(COMPLETED) in the month. The note names the child by case id only: never a name or a date of birth.
Each file is written to a temporary file in the same folder and moved into place with os.replace,
so a crash leaves either the old file or the new one, never half of one.
"""
import re
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.files import write_atomically
from auditcycle.core.settings import FrameworkSettings
from auditcycle.models import Action, Audit, AuditCycle, Child, Moderation, Submission
from auditcycle.models.enums import AuditStatus, ModerationStatus
from auditcycle.notices.queue import KIND_LABELS
from auditcycle.notifications.notices import day_label, month_label
from auditcycle.privacy.redaction import Redactor, redactors_for

NOTE_SEPARATOR = "\n\n" + "-" * 72 + "\n\n"
DECIDED = (ModerationStatus.AGREED, ModerationStatus.CHANGED)
# Case ids come from another system; anything that could leave the folder or upset a file system goes.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def note_filename(case_id: str) -> str:
    """Return the file name of a child's case note: the case id, made safe for a file system."""
    safe = _UNSAFE.sub("_", case_id).lstrip(".") or "_"
    return f"{safe}.txt"


def export_case_notes(session: Session, ctx: AppContext, *, month: Month, folder: Path) -> list[Path]:
    """Write one case-note file per child with an audit finalised in the month; return the paths, sorted."""
    month = str(Month.parse(month))  # validates, and normalises 2026-1 to the stored 2026-01
    label = month_label(month)
    audits = list(session.scalars(
        select(Audit).join(AuditCycle).where(AuditCycle.month == month, Audit.status == AuditStatus.COMPLETED)
        .order_by(Audit.child_id, Audit.reference)
        .options(selectinload(Audit.auditor), selectinload(Audit.cycle),
                 selectinload(Audit.child).selectinload(Child.key_worker),
                 selectinload(Audit.child).selectinload(Child.iro),
                 selectinload(Audit.child).selectinload(Child.cp_chair))))
    if not audits:
        return []
    ids = [a.id for a in audits]
    submissions = {s.audit_id: s for s in session.scalars(
        select(Submission).where(Submission.audit_id.in_(ids))
        .options(selectinload(Submission.grades), selectinload(Submission.submitted_by)))}
    moderations = {m.audit_id: m for m in session.scalars(select(Moderation).where(Moderation.audit_id.in_(ids)))}
    actions: dict[int, list[Action]] = defaultdict(list)
    for action in session.scalars(select(Action).where(Action.audit_id.in_(ids))
                                  .order_by(Action.due_date, Action.reference).options(selectinload(Action.owner))):
        actions[action.audit_id].append(action)
    by_child: dict[str, list[str]] = defaultdict(list)
    redactors = redactors_for(session, {a.child_id for a in audits})
    for audit in audits:
        by_child[audit.child_id].append(compose_case_note(
            audit, submissions.get(audit.id), moderations.get(audit.id), actions[audit.id],
            framework=ctx.settings.framework, month_name=label, tz=ctx.tz, redact=redactors[audit.child_id]))
    names = {child_id: note_filename(child_id) for child_id in by_child}
    if len(set(names.values())) < len(names):
        # Two case ids made safe to the same name would overwrite one child's note with another's.
        clash = sorted(c for c in names if list(names.values()).count(names[c]) > 1)
        raise UserError(f"case ids {', '.join(clash)} give the same file name; export them by hand")
    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_atomically(folder / names[child_id], NOTE_SEPARATOR.join(notes) + "\n")
             for child_id, notes in by_child.items()]
    return sorted(paths)


def compose_case_note(audit: Audit, submission: Submission | None, moderation: Moderation | None,
                      actions: list[Action], *, framework: FrameworkSettings, month_name: str,
                      tz: ZoneInfo, redact: Redactor) -> str:
    """Compose the case-note text of one finalised audit, naming the child by case id only."""
    grade = framework.grades.get
    child = audit.child
    auditor = audit.auditor or (submission.submitted_by if submission else None)
    lines = [
        f"Audit case note: {audit.reference}",
        f"Case: {child.id}",
        f"Audit month: {month_name} ({KIND_LABELS[audit.kind]})",
        f"Auditor: {auditor.name if auditor else 'not recorded'}",
    ]
    decided = moderation is not None and moderation.status in DECIDED
    if submission is not None:
        lines.append(f"Submitted: {day_label(submission.submitted_at.astimezone(tz).date())}")
        final = moderation.moderated_overall if decided and moderation.moderated_overall else submission.overall
        lines += ["", f"Overall grade: {grade(final, final)}", "Domain grades:"]
        graded = {g.domain: g.grade for g in submission.grades}
        # Settings order is the framework's order; a domain graded under an older configuration still shows.
        for slug in [*framework.domains, *sorted(set(graded) - set(framework.domains))]:
            value = graded.get(slug)
            lines.append(f"- {framework.domains.get(slug, slug)}: {grade(value, value) if value else 'not graded'}")
    else:
        lines += ["", "Grades: no submission recorded."]
    lines.append("")
    if decided:
        when = f" on {day_label(moderation.decided_at.astimezone(tz).date())}" if moderation.decided_at else ""
        before, after = moderation.original_overall, moderation.moderated_overall
        if moderation.status == ModerationStatus.CHANGED and after and before != after:
            changed = (f"from {grade(before, before)} " if before else "") + f"to {grade(after, after)}"
            lines.append(f"Moderation: moderated{when}; the overall grade was changed {changed}.")
        else:
            lines.append(f"Moderation: moderated{when}; the grade was agreed.")
    else:
        lines.append("Moderation: not moderated.")
    lines += ["", "Actions:"]
    for action in actions:
        description = " ".join(redact(action.description).split())
        lines.append(f"- {action.reference}: {description} Owner: {action.owner.name}. "
                     f"Due by {framework.working_day_end:%H:%M} on {day_label(action.due_date)}.")
    if not actions:
        lines.append("- No actions were raised.")
    lines.append("")
    copied = [f"{person.name} ({title})" for title, person in
              (("IRO", child.iro), ("CP chair", child.cp_chair)) if person is not None]
    if copied:
        lines.append(f"Copied for information and follow-up: {' and '.join(copied)}.")
    practitioner = f"{child.key_worker.name} (allocated key worker)" if child.key_worker else "The practitioner"
    lines.append(f"{practitioner} can expect a discussion of this audit, and of any actions, "
                 "at their next supervision session.")
    return "\n".join(lines)
