"""The secrets that sign links: the link_secret_keys setting, else one secret made once and kept in the database.

A default in the settings would be generated afresh by each process, so a link mailed by the sending run
would not read in the web process; a secret kept with the data it protects is the same for every process
on one database, and a copied demo database cannot forge links for a council's (their secrets differ).
A council that keeps secrets outside the database sets link_secret_keys and rotates them there.
"""
import secrets

from itsdangerous import URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.models import LinkSecret
from auditcycle.storage.transactions import transaction_info

_SECRET = "links.secret"


def _stored_secret(session: Session, ctx: AppContext, *, create: bool) -> str | None:
    """Return the database's own link secret, making it first if asked and none exists yet; read once a transaction."""
    known = transaction_info(session)
    if known.get(_SECRET) is not None:
        return known[_SECRET]
    with session.no_autoflush:  # the secret is never among the pending changes: it is made in a savepoint
        secret = session.scalar(select(LinkSecret.secret).where(LinkSecret.id == 1))
    if secret is not None or not create:
        known[_SECRET] = secret
        return secret
    try:
        # A savepoint: two first links issued at once both try; the loser reads the winner's secret.
        with session.begin_nested():
            session.add(LinkSecret(id=1, secret=secrets.token_urlsafe(48), created_at=ctx.now))
    except IntegrityError:
        pass
    known[_SECRET] = session.scalar(select(LinkSecret.secret).where(LinkSecret.id == 1))
    return known[_SECRET]


def signing_keys(session: Session, ctx: AppContext, *, create: bool = False) -> list[str]:
    """Return the keys that sign links, newest first: the configured ones, else the database's own (none yet: [])."""
    configured = [key.get_secret_value() for key in ctx.settings.link_secret_keys]
    if configured:
        return configured
    stored = _stored_secret(session, ctx, create=create)
    return [stored] if stored else []


def serializer(keys: list[str], purpose: str) -> URLSafeSerializer:
    """Return the signer for one purpose; its own salt, so a token for one act never reads as another's."""
    # itsdangerous takes the keys oldest first and signs with the last.
    return URLSafeSerializer(list(reversed(keys)), salt=f"auditcycle.link.{purpose}")
