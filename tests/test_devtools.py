"""The development tools (demo data, population generator, benchmarks) are not the product: the
local and test settings install and route them, the production settings neither install nor route them."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL_COMMANDS = {"seed_demo", "generate_population", "benchmark"}

READ = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.core.management import get_commands
from django.urls import Resolver404, resolve
try:
    resolve("/bench/hello/")
    routed = True
except Resolver404:
    routed = False
print(json.dumps({
    "installed": [app for app in settings.INSTALLED_APPS if app.split(".")[0] == "devtools"],
    "routed": routed,
    "commands": sorted(name for name, app in get_commands().items() if app.split(".")[0] == "devtools"),
    "imported": sorted(name for name in sys.modules if name.split(".")[0] == "devtools"),
}))
"""


def settings_read(module: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": module,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        "DJANGO_SECRET_KEY": "x" * 50,
        "PERSON_ID_HASH_KEY": "y" * 32,
        "DJANGO_ALLOWED_HOSTS": "example.org",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    read = subprocess.run([sys.executable, "-c", READ], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert read.returncode == 0, read.stderr
    return json.loads(read.stdout.strip().splitlines()[-1])


def test_production_neither_installs_nor_routes_nor_imports_the_tools():
    # when the production settings are loaded and the URL configuration is read
    found = settings_read("config.settings.production")
    # then no tool is installed, routed, offered as a command or even imported
    assert found == {"installed": [], "routed": False, "commands": [], "imported": []}


@pytest.mark.parametrize("module", ["config.settings.local", "config.settings.test"])
def test_local_and_test_settings_install_and_route_the_tools(module):
    # when the local (or test) settings are loaded
    found = settings_read(module)
    # then the tools are installed, their commands offered and the benchmarks' baselines routed
    assert found["installed"] == ["devtools"]
    assert found["routed"] is True
    assert TOOL_COMMANDS <= set(found["commands"])
