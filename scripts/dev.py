#!/usr/bin/env python3
"""Developer entry point (stdlib only): `dev.py run` serves the demo, `dev.py test [pytest args]` runs the tests.

Works on a fresh clone with nothing but Python 3.11: creates .venv, installs requirements.txt
(only when it changed since the last install), migrates SQLite under var/, and runs Celery tasks
in-process. Set DATABASE_URL / CELERY_BROKER_URL to use real services instead.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def say(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


def run(*args: str | Path, env: dict | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=True)


def venv_ready() -> None:
    """Create .venv if missing; reinstall requirements only when their hash differs from the stamp."""
    if sys.version_info[:2] != (3, 11):
        say(f"warning: the project is pinned for Python 3.11, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        say(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    say("installing requirements.txt")
    quiet = ["--quiet", "--disable-pip-version-check", "--no-input"]
    run(PYTHON, "-m", "pip", "install", *quiet, "-r", REQUIREMENTS)
    STAMP.write_text(wanted + "\n")


def django_env() -> dict:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def manage(*args: str, env: dict) -> None:
    run(PYTHON, "manage.py", *args, env=env)


def command_exists(name: str) -> bool:
    return any(ROOT.glob(f"*/management/commands/{name}.py"))


ADDRESS = ("127.0.0.1", 8000)
CREDENTIALS = ROOT / "var" / "demo-credentials.json"


def server_up(server: subprocess.Popen, *, timeout: float = 60.0) -> bool:
    """Whether the development server answers on ADDRESS (False if it exits or stays silent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection(ADDRESS, timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def demo_accounts_print() -> None:
    """The demo accounts, last: after the server's start-up noise, where a newcomer looks."""
    if not CREDENTIALS.exists():
        return
    accounts = json.loads(CREDENTIALS.read_text())
    lines = [f"  {username:18s} {password}" for username, password in accounts.items()]
    host, port = ADDRESS
    print(
        "\n".join(
            [
                "",
                f"Admin: http://{host}:{port}/admin/   API: http://{host}:{port}/api/v1/   docs: http://{host}:{port}/api/v1/docs/",
                "Demo staff accounts (username / password):",
                *lines,
                "Demo persons for the public query: see README.md. Stop with Ctrl-C.",
                "",
            ]
        ),
        flush=True,
    )


def cmd_run(_args: list[str]) -> int:
    venv_ready()
    env = django_env()
    (ROOT / "var").mkdir(exist_ok=True)
    manage("migrate", "--no-input", env=env)
    if command_exists("seed_demo"):
        manage("seed_demo", env=env)
    else:
        say("no seed_demo command yet: starting with an empty database")
    host, port = ADDRESS
    server = subprocess.Popen([str(PYTHON), "manage.py", "runserver", f"{host}:{port}"], cwd=ROOT, env=env)
    try:
        if server_up(server):
            demo_accounts_print()
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait()
        return 0


def cmd_test(args: list[str]) -> int:
    venv_ready()
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # pyproject.toml selects config.settings.test
    env.setdefault("PYTHONUNBUFFERED", "1")
    return subprocess.run([str(PYTHON), "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT, env=env).returncode


COMMANDS = {"run": cmd_run, "test": cmd_test}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print("usage: python3 scripts/dev.py run | test [pytest arguments]", file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except subprocess.CalledProcessError as error:
        say(f"failed: {' '.join(map(str, error.cmd))} (exit {error.returncode})")
        return error.returncode or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
