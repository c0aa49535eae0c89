"""A region: several councils on one installation, each its own data controller with its own database and settings.

The region file (AUDITCYCLE_REGION) names each council by a short slug and the TOML file of its own
settings: its database, mail sender, branding, framework values, diary, web address, sign-in and
schedules. The council a command or flow works on is a context variable, set by `for_council`; the
process's `get_settings()` returns that council's settings, and so `get_engine()` its database. With no
region file there is one council, configured as before, and nothing here changes anything.
"""
import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from auditcycle.core.errors import UserError

if TYPE_CHECKING:
    from auditcycle.core.settings import Settings

SLUG_PATTERN = r"^[a-z][a-z0-9-]{0,29}$"
# The council's own file must say these itself: falling back to the region's shared file or the
# environment would put two councils' records in one database, or one council's pages under another's address.
OWN_SETTINGS = ("database_url", "base_url")
# Folders that default, per council, to the shared folder's own subfolder named after the council.
OWN_FOLDERS = ("outbox_dir", "reports_dir")
# Values no two councils may share: each is one council's data, address or secret.
DISTINCT = ("database_url", "base_url", "outbox_dir", "reports_dir", "web_secret_key", "mail_from")

_current: ContextVar[str | None] = ContextVar("auditcycle_council", default=None)


class RegionError(UserError):
    """A region file, or a council's settings file, that cannot be used; the message names the file and what to fix."""


class CouncilEntry(BaseModel):
    """One council of the region: the file of its own settings, and its fair share of the Prefect workers."""

    model_config = ConfigDict(extra="forbid")

    config: Path
    # The runs of this council's work queue that may go on at once: a council's large month queues
    # behind its own runs only, never behind another council's.
    concurrency: int = Field(2, ge=1, le=50)


class Region(BaseModel):
    """The region file: its councils by slug, and the one a command without --council works on."""

    model_config = ConfigDict(extra="forbid")

    councils: dict[str, CouncilEntry] = Field(min_length=1)
    default: str | None = None

    @model_validator(mode="after")
    def _slugs(self) -> "Region":
        bad = [slug for slug in self.councils if not re.fullmatch(SLUG_PATTERN, slug)]
        if bad:
            raise ValueError(f"council {', '.join(map(repr, bad))}: a council's name here is a short slug of "
                             "lower-case letters, digits and hyphens, starting with a letter, such as \"northshire\"")
        if self.default is not None and self.default not in self.councils:
            raise ValueError(f"default = {self.default!r} names no council here: choose from {', '.join(self.councils)}")
        return self

    @property
    def default_council(self) -> str:
        """Return the council a command or flow works on when none is named: `default`, else the first listed."""
        return self.default or next(iter(self.councils))


def in_region() -> bool:
    """Say whether this installation serves a region (AUDITCYCLE_REGION is set)."""
    return bool(os.environ.get("AUDITCYCLE_REGION", "").strip())


def region_path() -> Path | None:
    """Return the region file AUDITCYCLE_REGION names, or None for a single council."""
    named = os.environ.get("AUDITCYCLE_REGION", "").strip()
    return Path(named) if named else None


def _read_toml(path: Path, what: str) -> dict:
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise RegionError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegionError(f"{what} {path}: cannot be read ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegionError(f"{what} {path}: not valid TOML ({exc})") from None


def _where() -> tuple[str, str] | None:
    """Return AUDITCYCLE_REGION as set and the folder it is relative to: the key the region is cached under."""
    named = os.environ.get("AUDITCYCLE_REGION", "").strip()
    return (named, os.getcwd()) if named else None


@lru_cache(maxsize=4)
def _load_region(named: str, cwd: str) -> tuple[Region, dict[str, dict]]:
    from auditcycle.core.settings import describe_problem

    path = Path(cwd, named)
    try:
        region = Region.model_validate(_read_toml(path, "AUDITCYCLE_REGION names"))
    except ValidationError as exc:
        raise RegionError(f"region file {path}: {describe_problem(exc)}") from None
    own: dict[str, dict] = {}
    for slug, entry in region.councils.items():
        file = entry.config if entry.config.is_absolute() else path.parent / entry.config
        region.councils[slug] = entry.model_copy(update={"config": file})
        data = _read_toml(file, f"council {slug}'s settings file")
        missing = [name for name in OWN_SETTINGS if name not in data]
        if missing:
            raise RegionError(f"council {slug}'s settings file {file} does not set {' or '.join(missing)}: each "
                              "council in a region has its own database and web address, so its file must name them")
        own[slug] = data
    _check_distinct(path, own)
    return region, own


def _check_distinct(path: Path, own: dict[str, dict]) -> None:
    for name in DISTINCT:
        seen: dict[str, str] = {}
        for slug, data in own.items():
            value = data.get(name, str(Path(name.removesuffix("_dir")) / slug) if name in OWN_FOLDERS else None)
            if value is None:
                continue
            key = str(value).rstrip("/").lower()
            if key in seen:
                # A secret's value is never repeated in a message.
                raise RegionError(f"region file {path}: councils {seen[key]} and {slug} share one {name}; each "
                                  f"council is its own data controller, so give each its own {name}")
            seen[key] = slug


def get_region() -> Region | None:
    """Return the region the installation serves, or None for a single council."""
    where = _where()
    return None if where is None else _load_region(*where)[0]


def council_slugs() -> list[str]:
    """List the region's councils by slug, in the region file's order ([] for a single council)."""
    region = get_region()
    return list(region.councils) if region else []


def current_council() -> str | None:
    """Return the slug of the council this code works for: set by for_council, else AUDITCYCLE_COUNCIL, else the default."""
    region = get_region()
    return None if region is None else _current_in(region)


def council_parameter() -> dict[str, str]:
    """Return a flow run's council parameter: {"council": slug} in a region, else nothing, as before regions."""
    council = current_council()
    return {"council": council} if council else {}


def _current_in(region: Region) -> str:
    return _current.get() or _known(region, os.environ.get("AUDITCYCLE_COUNCIL", "").strip()
                                    or region.default_council)


def _known(region: Region, slug: str) -> str:
    if slug not in region.councils:
        raise RegionError(f"no council {slug!r} in the region file {region_path()}: choose from "
                          f"{', '.join(region.councils)}")
    return slug


def enter_council(slug: str | None) -> Token:
    """Work for the named council from now on (None: the current one) until `leave_council` with the token returned."""
    region = get_region()
    if region is None:
        if slug:
            raise RegionError(f"council {slug!r} given, but this installation serves one council: no region file "
                              "is set (AUDITCYCLE_REGION)")
        return _current.set(None)
    return _current.set(_known(region, slug) if slug else current_council())


def leave_council(token: Token) -> None:
    """Go back to the council worked for before `enter_council` returned the token."""
    _current.reset(token)


@contextmanager
def for_council(slug: str | None) -> Iterator[str | None]:
    """Work for the named council inside the block (None: the current one); yield its slug, or None with no region."""
    token = enter_council(slug)
    try:
        yield _current.get()
    finally:
        leave_council(token)


@lru_cache(maxsize=32)
def _council_settings(named: str, cwd: str, slug: str) -> "Settings":
    from auditcycle.core.settings import Settings, describe_problem

    region, own = _load_region(named, cwd)
    data = own[slug]
    try:
        # The council's own file wins over the region's shared file (AUDITCYCLE_CONFIG) and the environment.
        settings = Settings(**data)
    except ValidationError as exc:
        raise RegionError(f"council {slug}'s settings file {region.councils[slug].config}: "
                          f"{describe_problem(exc)}") from None
    folders = {name: getattr(settings, name) / slug for name in OWN_FOLDERS if name not in data}
    return settings.model_copy(update=folders) if folders else settings


def council_settings(slug: str | None = None) -> "Settings":
    """Return a council's settings (by default the current council's); the region must be configured."""
    where = _where()
    if where is None:
        raise RegionError("no region file is set (AUDITCYCLE_REGION): this installation serves one council")
    region = _load_region(*where)[0]
    return _council_settings(*where, _known(region, slug) if slug else _current_in(region))


def council_concurrency(slug: str) -> int:
    """Return how many of a council's runs its work queue lets go on at once."""
    region = get_region()
    assert region is not None
    return region.councils[_known(region, slug)].concurrency


def clear_region() -> None:
    """Forget the region and every council's settings read so far, so the next call reads the files again."""
    _load_region.cache_clear()
    _council_settings.cache_clear()


def deployment_name(phase: str, council: str | None) -> str:
    """Name a phase's Prefect deployment: the phase's own name, and in a region the council's after it."""
    return f"{phase}-{council}" if council else phase


def work_queue_name(council: str) -> str:
    """Name a council's own work queue in the auditcycle work pool, where its fair share is set."""
    return f"auditcycle-{council}"
