"""The console's tracker (audits, actions, Immediate Responses), its CSV exports, and the QA team's access log.

Each person sees their own part (auditcycle/console/scope.py). A page shown with children's names, and every
export, is written to the access log before it is sent; if the log cannot be written, nothing is sent.
"""
from flask import Response, g, render_template, request, url_for

from auditcycle.console.access_log import ACCESS_LOG, EXPORT, VIEW, record_access, search_access_log
from auditcycle.console.scope import TRACKER
from auditcycle.console.tracker import FilterProblems, Tab, tracker_view
from auditcycle.console.tracker import tracker_export as export_of
from auditcycle.web.acts import deciding, reading
from auditcycle.web.console import blueprint, short_moment, signed_in


def _page(tab: Tab):  # noqa: ANN202
    with reading() as (db, ctx):
        view = tracker_view(db, ctx, staff_id=g.staff_id, tab=tab, args=request.args)
        tz = ctx.tz
        html = render_template(
            "console/tracker.html", title=f"Tracker: {tab.label}", view=view, section="tracker", tabs=list(Tab),
            url=lambda **params: url_for(ENDPOINTS[tab], **params),
            export=url_for("console.tracker_export", tab=tab.value, **view.filters.params(tab, page=None)),
            short=lambda moment: short_moment(moment, tz), day=lambda d: f"{d.day} {d:%b %Y}")
    if view.named_case_ids:
        with deciding() as (db, ctx):
            record_access(db, ctx, staff_id=g.staff_id, kind=VIEW, page=f"tracker: {tab.value}",
                          query=view.filters.query_string(tab), case_ids=view.named_case_ids)
    return html, 400 if view.problems else 200


@blueprint.get("/console/tracker")
@signed_in(permission=TRACKER)
def tracker():  # noqa: ANN201
    """Show the audits of the signed-in person's part, filtered, sorted and paged as the query asks."""
    return _page(Tab.AUDITS)


@blueprint.get("/console/tracker/actions")
@signed_in(permission=TRACKER)
def tracker_actions():  # noqa: ANN201
    """Show the actions of the signed-in person's part, filtered, sorted and paged as the query asks."""
    return _page(Tab.ACTIONS)


@blueprint.get("/console/tracker/responses")
@signed_in(permission=TRACKER)
def tracker_responses():  # noqa: ANN201
    """Show the Immediate Responses of the signed-in person's part (open ones first, with their clocks)."""
    return _page(Tab.RESPONSES)


ENDPOINTS = {Tab.AUDITS: "console.tracker", Tab.ACTIONS: "console.tracker_actions",
             Tab.RESPONSES: "console.tracker_responses"}


@blueprint.get("/console/tracker/<tab>.csv")
@signed_in(permission=TRACKER)
def tracker_export(tab: str):  # noqa: ANN201
    """Download what the filters select, in the person's part, as CSV; written to the access log first."""
    try:
        chosen = Tab(tab)
    except ValueError:
        return render_template("error.html", status=404, title="Page not found",
                               advice="The tracker exports audits, actions or responses."), 404
    try:
        with reading() as (db, ctx):
            export = export_of(db, ctx, staff_id=g.staff_id, tab=chosen, args=request.args)
    except FilterProblems as refused:
        return render_template("error.html", status=400, title="There is a problem with the filters",
                               advice=f"{refused}. Go back to the tracker and choose again."), 400
    with deciding() as (db, ctx):
        record_access(db, ctx, staff_id=g.staff_id, kind=EXPORT, page=export.page, query=export.query,
                      case_ids=export.case_ids)
    return Response(export.text.encode("utf-8-sig"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})


@blueprint.get("/console/access-log")
@signed_in(permission=ACCESS_LOG)
def access_log():  # noqa: ANN201
    """Search the access log: who saw or exported which children's records, by staff, case id and day."""
    with reading() as (db, ctx):
        found = search_access_log(db, ctx, by=g.staff_id, args=request.args)
        tz = ctx.tz
        asked = {k: (request.args.get(k) or "")[:200] for k in ("staff", "case", "from", "to")}
        return render_template("console/access_log.html", title="Access log", found=found, asked=asked,
                               section="access-log", short=lambda moment: short_moment(moment, tz),
                               url=lambda **params: url_for("console.access_log", **params)), \
            400 if found.problems else 200
