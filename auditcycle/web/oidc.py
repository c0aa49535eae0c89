"""The council's OpenID Connect sign-in service as the console's way in (Authlib's Flask client).

Registered only when the settings name an issuer; its metadata is read from the issuer's
/.well-known/openid-configuration, and an ID token whose `iss` is not that pinned issuer is refused.
"""
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from auditcycle.core.settings import Settings

CLIENT = "council"
EXTENSION = "auditcycle.oidc"


def init_app(app: Flask, settings: Settings) -> None:
    """Register the council's sign-in service with the app, if the settings name one."""
    # One registry per app: a registry shared by apps would keep the first one's provider metadata.
    oauth = app.extensions[EXTENSION] = OAuth(app)
    if settings.oidc_issuer is None:
        return
    oauth.register(CLIENT, client_id=settings.oidc_client_id,
                   client_secret=settings.oidc_client_secret.get_secret_value(),
                   server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": "openid email profile"}, overwrite=True)


def client():  # noqa: ANN201
    """Return the registered client of the council's sign-in service."""
    return current_app.extensions[EXTENSION].create_client(CLIENT)
