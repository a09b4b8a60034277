"""Dependencies point down (docs/architecture.md): the staff layer above the record apps (communities,
hotels, entrants) above the core (health); a record app imports only the core, never another record
app; the core imports no app; nothing of the product imports the development tools.

The contracts themselves are in pyproject.toml (import-linter, transitive imports included); the
checks below also read every module directly, function-level imports included."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORD_APPS = ("communities", "hotels", "entrants")
CORE = "health"
STAFF = "staff"
DEVTOOLS = "devtools"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("app", RECORD_APPS)
def test_a_record_app_imports_no_other_record_app(app):
    # given every module of the app, function-level imports included
    others = set(RECORD_APPS) - {app}
    offending = {
        str(path.relative_to(ROOT)): sorted(module for module in imported_modules(path) if module.split(".")[0] in others)
        for path in sorted((ROOT / app).rglob("*.py"))
    }
    # then none of them names another record app
    assert {path: modules for path, modules in offending.items() if modules} == {}


def imports_of(package: str, forbidden: set[str]) -> dict[str, list[str]]:
    """Per module of the package, the imported modules whose top-level package is in `forbidden`."""
    found = {
        str(path.relative_to(ROOT)): sorted(module for module in imported_modules(path) if module.split(".")[0] in forbidden)
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    return {path: modules for path, modules in found.items() if modules}


def test_the_core_imports_no_app():
    # given every module of the core, function-level imports included
    # then none names an app above the core
    assert imports_of(CORE, {*RECORD_APPS, STAFF, DEVTOOLS}) == {}


@pytest.mark.parametrize("package", [*RECORD_APPS, CORE])
def test_nothing_below_the_staff_layer_imports_it(package):
    assert imports_of(package, {STAFF}) == {}


@pytest.mark.parametrize("package", [*RECORD_APPS, CORE, STAFF, "config"])
def test_the_product_imports_no_development_tool(package):
    assert imports_of(package, {DEVTOOLS}) == {}


def test_the_import_contracts_hold():
    # when import-linter checks the contracts of pyproject.toml (transitive imports included)
    linter = Path(sys.executable).with_name("lint-imports")
    checked = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    # then every contract is kept
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "4 kept, 0 broken" in checked.stdout


def test_the_status_services_tasks_and_purge_are_in_no_import_circle():
    # given the core's import graph (function-level imports included)
    import grimp

    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(CORE, "config", cache_dir=None)
    focus = sorted(
        module
        for module in graph.modules
        if module in ("health.tasks", "health.purge") or module.startswith("health.services.status")
    )
    assert "health.services.status_marking" in focus and "health.services.statuses" in focus
    # then none of them imports, directly or not, a module that imports it back
    circles = {
        module: sorted(graph.find_upstream_modules(module) & graph.find_downstream_modules(module)) for module in focus
    }
    assert {module: others for module, others in circles.items() if others} == {}
