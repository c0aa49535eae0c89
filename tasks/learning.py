"""What follows moderation: Make a Difference drafts, trend scrutiny, the learning session, questionnaires."""
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.learning.culture import draft_summaries, invite_learning_session
from auditcycle.learning.questionnaire import send_questionnaires
from auditcycle.sampling.cycle import monthly_cycle
from auditcycle.tasks.common import phase_task
from auditcycle.trends.scrutiny import scrutinise


@phase_task("close-the-loop")
def follow_up_moderation(session: Session, ctx: AppContext, month: Month) -> dict:
    """Draft summaries of good audits, and once moderation has closed, flag trends and invite the session."""
    cycle = monthly_cycle(session, month)
    if cycle is None:
        return {}
    result = {"summaries": draft_summaries(session, ctx, cycle=cycle),
              "questionnaires": send_questionnaires(session, ctx, cycle=cycle)}
    if cycle.moderation_closed_at is not None:
        result["trend_flags"] = len(scrutinise(session, ctx, cycle=cycle))
        result["learning_invites"] = invite_learning_session(session, ctx, cycle=cycle)
    return result
