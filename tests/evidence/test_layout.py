"""The layout is the pipeline (issue 19): each capability is a room of ``evidence/``, and imports run one way.

Every ``import`` of an ``evidence`` module anywhere in a module counts, lazy ones inside functions too: a
lazy import is still a dependency, it only hides a circle until run time. ARCHITECTURE.md draws the same table.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

EVIDENCE = Path(__file__).resolve().parents[2] / "evidence"

# What each room may import besides itself and ``evidence.models``, in the order data flows. Rooms not named
# here (the app's wiring: config, admin, apps, management commands, template tags) may import any room.
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "surveillance": {"core"},
    "screening": {"core", "surveillance"},
    "synthesis": {"core"},
    "publishing": {"core", "synthesis"},
    "api": {"core", "synthesis", "publishing"},
    "seed": {"core", "synthesis", "publishing"},
    "extraction": {"core", "surveillance", "screening", "seed"},
    "approval": {"core", "surveillance", "screening", "extraction", "synthesis"},
    "operations": {"core", "surveillance", "screening", "synthesis", "publishing"},
    "workspace": {"core", "surveillance", "screening", "extraction", "approval", "synthesis"},
}
WIRING = {"config", "admin", "apps", "management", "templatetags", "__init__"}
PIPELINE = ["surveillance", "screening", "extraction", "approval", "synthesis", "publishing", "api"]


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(EVIDENCE.rglob("*.py")):
        relative = path.relative_to(EVIDENCE.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        name = ".".join(relative.parts).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text(), filename=str(path))
    return found


def _imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from evidence.core import policy`` imports the module policy; ``from evidence.core.policy import
            # OPERATE`` the module evidence.core.policy
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in MODULES else node.module)
    return {name for name in names if name.startswith("evidence.")}


def _room(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


MODULES = _modules()


def _known(name: str) -> str | None:
    """The module ``name`` refers to (``evidence.core.policy.OPERATE`` is in ``evidence.core.policy``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def test_every_room_is_named_in_the_table():
    rooms = {_room(module) for module in MODULES} - WIRING - {"models"}
    assert rooms == set(MAY_IMPORT), "a new room needs its row in MAY_IMPORT (and in ARCHITECTURE.md)"


def test_the_rooms_form_no_circle_and_keep_the_pipeline_order():
    order = list(graphlib.TopologicalSorter(MAY_IMPORT).static_order())  # raises CycleError on a circle
    positions = [order.index(room) for room in PIPELINE if room in MAY_IMPORT]
    # a room may only import rooms drawn before it; synthesis never imports screening, publishing only reads
    assert "screening" not in MAY_IMPORT["synthesis"] and positions
    assert not (
        {"surveillance", "screening", "extraction", "approval"} & (MAY_IMPORT["publishing"] | MAY_IMPORT["api"])
    )


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _room(m) not in WIRING))
def test_a_room_imports_only_the_rooms_it_may(module):
    room = _room(module)
    allowed = MAY_IMPORT.get(room, set()) | {room, "models"}
    wrong = sorted(name for name in _imports(MODULES[module]) if _known(name) and _room(_known(name)) not in allowed)
    assert not wrong, f"{module} ({room}) imports {wrong}; {room} may import only {sorted(allowed)}"


def test_no_module_imports_a_tasks_module_but_the_celery_wiring():
    """Services hand work to Celery by task name through ``evidence.core.dispatch``: no circle through tasks."""
    importers = sorted(
        module
        for module, tree in MODULES.items()
        if _room(module) not in WIRING and any((_known(n) or "").endswith(".tasks") for n in _imports(tree))
    )
    assert importers == []


def test_no_circle_among_modules():
    """No module imports, even lazily inside a function, a module that imports it back (directly or around)."""
    graph = {
        module: {known for name in _imports(tree) if (known := _known(name)) and known != module}
        for module, tree in MODULES.items()
    }
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the circle
