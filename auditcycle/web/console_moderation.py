"""The console's moderation page: the panel's worklist for a month, read-only, with links to the other pages."""
from flask import render_template, request

from auditcycle.console.moderation import moderation_worklist
from auditcycle.console.month import monthly_months
from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.notifications.notices import day_label, moment_label
from auditcycle.runs.phases import default_month
from auditcycle.web.acts import reading
from auditcycle.web.console import blueprint, short_moment, signed_in


def month_asked(ctx: AppContext, phase: str) -> Month:
    """Return the month the page asks for (?month=YYYY-MM), else the one the phase covers now."""
    asked = request.args.get("month") or request.form.get("month")
    return Month.parse(asked) if asked else default_month(phase, ctx)


def no_such_month() -> str:
    """Say that the month asked for is not one, without repeating more of it than a month's length."""
    return f"There is no month {(request.args.get('month') or request.form.get('month') or '')[:7]!r}: choose one " \
           "from the list"


@blueprint.get("/console/moderation")
@signed_in
def moderation():  # noqa: ANN201
    """Show a month's moderation: every audit selected, who decides it, what is undecided and for how long."""
    with reading() as (db, ctx):
        months, problem, status = monthly_months(db), None, 200
        try:
            month = month_asked(ctx, "moderate")
        except (UserError, ValueError):
            month, problem, status = default_month("moderate", ctx), no_such_month(), 404
        view = moderation_worklist(db, ctx, month)
        return render_template("console/moderation.html", title=f"Moderation: {month.label}", view=view,
                               months=months, problem=problem, section="moderation",
                               day=day_label, when=lambda moment: moment_label(moment, ctx.tz),
                               short=lambda moment: short_moment(moment, ctx.tz)), status
