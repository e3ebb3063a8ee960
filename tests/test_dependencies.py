"""The dependency rule, read from the source of every app module (imports inside functions included):
core ← inventory ← orders ← payments, fulfillment; notifications and webhooks subscribe to events and read
what they render, and nobody below imports them. A new import against the rule fails here."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["core", "inventory", "orders", "payments", "fulfillment", "notifications", "webhooks"]
ALLOWED = {
    "core": set(),
    "inventory": {"core"},
    "orders": {"core", "inventory"},
    "payments": {"core", "inventory", "orders"},
    "fulfillment": {"core", "inventory", "orders"},
    "notifications": {"core", "inventory", "orders", "payments", "fulfillment"},
    "webhooks": {"core", "inventory", "orders"},  # renders the order as the storefront API does
}


def imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(APPS)


@pytest.mark.parametrize("app", APPS)
def test_each_app_imports_only_the_apps_below_it(app):
    wrong = {}
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        forbidden = imported_apps(path) - ALLOWED[app] - {app}
        if forbidden:
            wrong[str(path.relative_to(ROOT))] = sorted(forbidden)
    assert not wrong, wrong


def test_config_wires_by_name_and_imports_no_app():
    """`config` holds settings, urls and the Celery app: it names the apps (INSTALLED_APPS, `include("orders.urls")`)
    and imports none but `core`; the apps bring their own URLs, metrics and event handlers."""
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) - {"core"})
        for path in sorted((ROOT / "config").rglob("*.py"))
        if imported_apps(path) - {"core"}
    }
    assert not wrong, wrong
