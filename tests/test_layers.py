"""Dependencies point down: a record app (communities, hotels, entrants) imports only the core, never another record app."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORD_APPS = ("communities", "hotels", "entrants")


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
