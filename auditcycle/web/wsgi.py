"""The WSGI entry point for a production server: `gunicorn auditcycle.web.wsgi:app`."""
from auditcycle.core.region import council_slugs
from auditcycle.web import create_app
from auditcycle.web.region import create_region_app

# In a region (AUDITCYCLE_REGION), every council's site, each at the host and path of its own base_url.
app = create_region_app() if council_slugs() else create_app()
