"""Serving prefect.yaml's deployments from one process, on their schedules, with no worker.

The schedules are read from prefect.yaml (with a council's own times from the settings), so they are
written once for `prefect deploy` and for serving.
"""
import os
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditcycle.core.errors import UserError
from auditcycle.core.region import (
    council_concurrency,
    council_settings,
    council_slugs,
    deployment_name,
    work_queue_name,
)
from auditcycle.core.settings import get_settings
from auditcycle.runs.phases import check_schedules

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

    from auditcycle.core.settings import Settings

# The source folders that the installed package maps to auditcycle.<folder> (see pyproject.toml).
PACKAGE_FOLDERS = {"flows", "tasks", "models", "notifications"}
SOURCE_ROOT = Path(__file__).resolve().parents[2]


def find_config(path: Path | None = None) -> Path:
    """Return prefect.yaml: the one given, else in the current folder, $AUDITCYCLE_HOME or the source tree."""
    if path is not None:
        if not path.is_file():
            raise UserError(f"{path}: no such file; give the path of the project's prefect.yaml")
        return path
    candidates = [Path.cwd() / "prefect.yaml"]
    if home := os.environ.get("AUDITCYCLE_HOME"):
        candidates.append(Path(home) / "prefect.yaml")
    candidates.append(SOURCE_ROOT / "prefect.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise UserError("no prefect.yaml found here, in $AUDITCYCLE_HOME or beside the source: "
                    "run from the project folder or give --config PATH")


def read_deployments(path: Path) -> list[dict[str, Any]]:
    """Return the deployment entries of a prefect.yaml."""
    import yaml

    try:
        config = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc})") from None
    deployments = config.get("deployments") or []
    if not isinstance(deployments, list) or not all(isinstance(d, dict) and d.get("name") for d in deployments):
        raise UserError(f"{path}: `deployments` must be a list of entries, each with a name")
    return deployments


def resolve_flow(entrypoint: str, root: Path) -> "Flow":
    """Load the flow an entrypoint names, as `flows/sample.py:sample` or `auditcycle.flows.sample:sample`.

    A path under one of the project's source folders is imported from the installed package, so it
    works wherever auditcycle is installed; any other path is loaded from the file, relative to `root`.
    """
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint

    target, sep, name = entrypoint.rpartition(":")
    if not sep or not target or not name:
        raise UserError(f"entrypoint {entrypoint!r}: write it as path/to/file.py:function")
    if target.endswith(".py"):
        parts = Path(target).with_suffix("").parts
        module = "auditcycle." + ".".join(parts) if parts and parts[0] in PACKAGE_FOLDERS else None
    else:
        module = target
    if module is not None:
        try:
            found = getattr(import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise UserError(f"entrypoint {entrypoint!r}: cannot load {module}.{name} ({exc})") from None
    else:
        file = Path(target) if Path(target).is_absolute() else root / target
        if not file.is_file():
            raise UserError(f"entrypoint {entrypoint!r}: no file {file}")
        found = load_flow_from_entrypoint(f"{file}:{name}", use_placeholder_flow=False)
    if not isinstance(found, Flow):
        raise UserError(f"entrypoint {entrypoint!r} names {type(found).__name__}, not a Prefect flow")
    return found


def _schedule(entry: dict[str, Any], deployment: str):
    from prefect.schedules import Cron, Interval, RRule

    common = {"timezone": entry.get("timezone"), "active": entry.get("active", True), "slug": entry.get("slug"),
              "parameters": entry.get("parameters")}
    if "cron" in entry:
        return Cron(entry["cron"], day_or=entry.get("day_or", True), **common)
    if "interval" in entry:
        return Interval(entry["interval"], anchor_date=entry.get("anchor_date"), **common)
    if "rrule" in entry:
        return RRule(entry["rrule"], **common)
    raise UserError(f"deployment {deployment!r}: a schedule needs cron, interval or rrule")


def council_entries(entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Return each deployment entry with the name of its phase, each schedule at the council's own time.

    With one council the entries are as prefect.yaml writes them. In a region each council gets its own
    copy of every entry: named `<phase>-<council>`, with the parameter council=<slug>, its schedules at the
    council's own times, and the council's own work queue, where its fair share of the workers is set.
    """
    slugs = council_slugs()
    if not slugs:
        settings = get_settings()
        check_schedules(settings)
        return [(_own_schedules(entry, entry["name"], settings), entry["name"]) for entry in entries]
    out = []
    for slug in slugs:
        settings = council_settings(slug)
        check_schedules(settings)
        for entry in entries:
            copy = {**entry, "name": deployment_name(entry["name"], slug),
                    "parameters": {**(entry.get("parameters") or {}), "council": slug},
                    "work_pool": {**(entry.get("work_pool") or {"name": "auditcycle"}),
                                  "work_queue_name": work_queue_name(slug)},
                    "tags": [*(entry.get("tags") or []), f"council:{slug}"]}
            out.append((_own_schedules(copy, entry["name"], settings), entry["name"]))
    return out


def _own_schedules(entry: dict[str, Any], phase: str, settings: "Settings") -> dict[str, Any]:
    """Return the entry with the council's own time for its phase, if it set one, in place of the declared one."""
    declared = entry.get("schedules") or []
    if own := settings.schedules.get(phase):
        # The council's own time replaces the declared one, keeping its zone and slug.
        declared = [{**(declared[0] if declared else {"timezone": settings.timezone}), "cron": own}]
    return {**entry, "schedules": [dict(schedule) for schedule in declared]}


def _concurrency_limit(value: Any, deployment: str):
    """Return a deployment's concurrency limit as prefect.yaml gives it: a number, or {limit, collision_strategy}."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from pydantic import ValidationError

    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return ConcurrencyLimitConfig.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        raise UserError(f"deployment {deployment!r}: concurrency_limit must be a number or "
                        f"{{limit: N, collision_strategy: ENQUEUE or CANCEL_NEW}} ({problems})") from None


def build_deployments(path: Path, names: list[str] | None = None) -> list["RunnerDeployment"]:
    """Build a served deployment for each entry of prefect.yaml (or the named ones), with its schedules.

    In a region, one per council for each entry (see `council_entries`); a name picks a phase for every
    council, or one council's (`sample-northshire`).
    """
    from prefect.types.entrypoint import EntrypointType

    entries = read_deployments(path)
    expanded = council_entries(entries)
    known = {e["name"] for e in entries} | {e["name"] for e, _ in expanded}
    unknown = sorted(set(names or []) - known)
    if unknown:
        raise UserError(f"no deployment named {', '.join(unknown)} in {path}: choose from "
                        f"{', '.join(e['name'] for e in entries)}")
    built = []
    for entry, phase in expanded:
        if names and entry["name"] not in names and phase not in names:
            continue
        flow = resolve_flow(entry.get("entrypoint") or "", path.parent)
        options = {key: entry[key] for key in ("description", "tags", "version") if entry.get(key) is not None}
        if entry.get("concurrency_limit") is not None:
            options["concurrency_limit"] = _concurrency_limit(entry["concurrency_limit"], entry["name"])
        built.append(flow.to_deployment(
            name=entry["name"],
            schedules=[_schedule(s, entry["name"]) for s in entry["schedules"]],
            parameters=entry.get("parameters") or {},
            # Served runs execute the flow in memory; a module path stays valid wherever it is installed.
            entrypoint_type=EntrypointType.MODULE_PATH,
            **options,
        ))
    return built


def region_file(path: Path) -> dict[str, Any]:
    """Return prefect.yaml as it is for a region: each council's own deployments, schedules and work queue."""
    import yaml

    config = yaml.safe_load(path.read_text("utf-8")) or {}
    config["deployments"] = [entry for entry, _ in council_entries(read_deployments(path))]
    return config


def council_queues() -> dict[str, int]:
    """Return each council's work queue with the number of its runs that may go on at once."""
    return {work_queue_name(slug): council_concurrency(slug) for slug in council_slugs()}


def create_council_queues(pool: str = "auditcycle") -> dict[str, int]:
    """Create or update each council's work queue in the work pool (made if missing), with its concurrency limit."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    queues = council_queues()
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        for name, limit in queues.items():
            try:
                client.create_work_queue(name=name, work_pool_name=pool, concurrency_limit=limit)
            except ObjectAlreadyExists:
                queue = client.read_work_queue_by_name(name, work_pool_name=pool)
                client.update_work_queue(queue.id, concurrency_limit=limit)
    return queues


def describe(deployment: "RunnerDeployment") -> str:
    """Say in one line what a served deployment runs and when."""
    whens = []
    for schedule in deployment.schedules or []:
        inner = schedule.schedule
        when = (getattr(inner, "cron", None) or getattr(inner, "rrule", None)
                or f"every {getattr(inner, 'interval', '?')}")
        whens.append(f"{when} ({inner.timezone})" + ("" if schedule.active else " paused"))
    return f"{deployment.flow_name}/{deployment.name}: {'; '.join(whens) or 'no schedule, runs on demand'}"
