"""Imports flow one way (docs/architecture.md): each package imports only the layers below it, and no cycle."""
import ast
from collections import defaultdict
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Lowest first. A package may import its own layer's packages (without a cycle) and every layer below.
LAYERS = [
    {"core"},
    {"models"},
    {"storage"},
    {"notifications"},
    {"people", "privacy", "imports", "links"},
    {"actions", "booking", "chasing", "immediate_responses", "invitations", "learning", "moderation", "notices",
     "observations", "report", "sampling", "submissions", "tracker", "trends"},
    # The phases of the month and their calendar (which asks whether a drawn list is released), the replay, and
    # the console's sign-in and view of the month (which reads the phases).
    {"runs", "demo", "console"},
    {"tasks"},
    {"flows"},
    {"web"},
    {"cli"},
]
LAYER_OF = {package: n for n, layer in enumerate(LAYERS) for package in layer}
FOLDERS = {"models": "models", "tasks": "tasks", "flows": "flows", "notifications": "notifications"}


def _package_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if rel.parts[0] in FOLDERS else rel.parts[1]


def _imports() -> dict[str, set[str]]:
    """Map each package to the auditcycle packages its modules import (function-level imports included)."""
    found: dict[str, set[str]] = defaultdict(set)
    sources = [p for p in (ROOT / "auditcycle").rglob("*.py") if not p.relative_to(ROOT).parts[1] in FOLDERS]
    sources += [p for folder in FOLDERS.values() for p in (ROOT / folder).rglob("*.py")]
    for path in sources:
        if path.parent == ROOT / "auditcycle":
            continue  # the package's own __init__
        here = _package_of(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("auditcycle."):
                    found[here].add(name.split(".")[1])
    return found


def test_every_package_has_a_layer() -> None:
    assert set(_imports()) - set(LAYER_OF) == set()


def test_no_package_imports_a_layer_above_its_own() -> None:
    upward = sorted((here, there) for here, theirs in _imports().items() for there in theirs
                    if LAYER_OF[there] > LAYER_OF[here])

    assert upward == []


def test_the_concept_packages_import_each_other_without_a_cycle() -> None:
    graph = {here: theirs - {here} for here, theirs in _imports().items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"an import cycle between packages: {exc.args[1]}") from None

    assert max(order.index("core"), order.index("models")) < order.index("tasks") < order.index("cli")
