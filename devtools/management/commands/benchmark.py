"""Run one benchmark of devtools/bench/ (recompute, ingest, lookup, propagation, fanout, purge, verify); its last line is a JSON result."""
import importlib
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

NAMES = ("recompute", "ingest", "lookup", "propagation", "fanout", "purge", "verify")


class Command(BaseCommand):
    help = "运行压测（recompute、ingest、lookup、propagation、fanout、purge、verify），最后一行输出 JSON 结果。"

    def add_arguments(self, parser):
        parser.add_argument("name", choices=NAMES)
        # Each benchmark has options of its own: only the chosen one's are offered.
        chosen = getattr(self, "_chosen", None)
        if chosen in NAMES:
            importlib.import_module(f"devtools.bench.{chosen}").add_arguments(parser)

    def run_from_argv(self, argv):
        self._chosen = argv[2] if len(argv) > 2 else None
        # The benchmarks run under devtools.bench.settings (their own database, Redis, baseline views):
        # started with other settings, run again under those.
        if os.environ.get("DJANGO_SETTINGS_MODULE") != "devtools.bench.settings":
            environment = dict(os.environ, DJANGO_SETTINGS_MODULE="devtools.bench.settings")
            os.execve(sys.executable, [sys.executable, *argv], environment)
        super().run_from_argv(argv)

    def handle(self, *args, **options):
        if getattr(settings, "ROOT_URLCONF", "") != "devtools.bench.urls":
            raise CommandError("run with DJANGO_SETTINGS_MODULE=devtools.bench.settings")
        module = importlib.import_module(f"devtools.bench.{options['name']}")
        module.run(options)
