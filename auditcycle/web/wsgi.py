"""The WSGI entry point for a production server: `gunicorn auditcycle.web.wsgi:app`."""
from auditcycle.web import create_app

app = create_app()
