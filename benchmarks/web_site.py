"""The site under load: the real web application, plus the bare page it is compared with.

The bare page is the same stack (Flask, Flask-WTF's CSRF, the session cookie, SQLAlchemy) doing the least a
page can: a template under 1 KB and one primary-key SELECT, by GET and by POST. Served by gunicorn as
`benchmarks.web_site:app`, with the settings from the environment.
"""
from flask import render_template_string
from flask_wtf import FlaskForm
from sqlalchemy.orm import sessionmaker

from auditcycle.core.settings import get_settings
from auditcycle.models import Staff
from auditcycle.storage.db import reader_for
from auditcycle.web import create_app

BARE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Bare</title></head><body>
<main><h1>{{ staff_id }}</h1><form method="post">{{ form.csrf_token }}<button>Go</button></form></main></body></html>"""

app = create_app()


@app.route("/bench/bare/<staff_id>", methods=["GET", "POST"])
def bare(staff_id: str) -> str:
    """Render the bare page for one member of staff after one primary-key SELECT; a POST is CSRF-checked too."""
    form = FlaskForm()
    if form.is_submitted() and not form.validate():
        return "refused", 400
    with sessionmaker(bind=reader_for(get_settings().database_url))() as session:
        staff = session.get(Staff, staff_id)
    return render_template_string(BARE, staff_id=staff.id if staff else "-", form=form)
