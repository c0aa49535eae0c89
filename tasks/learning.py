"""What follows moderation: Make a Difference drafts, trend scrutiny, the learning session, questionnaires."""
from prefect import task

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.learning.culture import draft_summaries, invite_learning_session, send_questionnaires
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import TASK_OPTIONS
from auditcycle.trends.scrutiny import scrutinise


@task(name="close-the-loop", **TASK_OPTIONS)
def follow_up_moderation(month: str, now: str) -> dict:
    """Draft summaries of good audits, and once moderation has closed, flag trends and invite the session."""
    ctx = build_context(now)
    with session_scope() as session:
        cycle = monthly_cycle(session, Month.parse(month))
        if cycle is None:
            return {}
        result = {"summaries": draft_summaries(session, ctx, cycle=cycle),
                  "questionnaires": send_questionnaires(session, ctx, cycle=cycle)}
        if cycle.moderation_closed_at is not None:
            result["trend_flags"] = len(scrutinise(session, ctx, cycle=cycle))
            result["learning_invites"] = invite_learning_session(session, ctx, cycle=cycle)
    return result
