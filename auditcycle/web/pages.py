"""The service's own pages: the landing page, the accessibility statement and the load balancers' health check."""
from flask import Blueprint, Response, current_app, render_template

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def index() -> str:
    """Show the landing page: staff act from the links in their email."""
    return render_template("index.html")


@blueprint.get("/accessibility")
def accessibility() -> str:
    """Show the accessibility statement a public-sector website must publish."""
    settings = current_app.config["AUDITCYCLE_SETTINGS"]
    return render_template("accessibility.html", qa_mailbox=str(settings.mail_from))


@blueprint.get("/health")
def health() -> Response:
    """Answer "ok" in plain text, for a load balancer's health check."""
    return Response("ok", mimetype="text/plain")
