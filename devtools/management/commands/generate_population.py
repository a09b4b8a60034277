"""Generate a synthetic city (persons with stays, declarations, quarantines, hotel stays, inbound cases, designations)."""
import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from devtools.population import population_generate


class Command(BaseCommand):
    help = "生成模拟人口及其各类记录（COPY / 批量写入），随后计算全部健康状态。用于演示与压测。"

    def add_arguments(self, parser):
        parser.add_argument("--persons", type=int, required=True, help="number of persons")
        parser.add_argument("--seed", type=int, default=0, help="drives the records drawn (default 0)")
        parser.add_argument("--no-compute", action="store_true", help="leave the statuses to the workers / the sweep")

    def handle(self, *args, **options):
        if options["persons"] < 1:
            raise CommandError("--persons must be at least 1")
        started = time.monotonic()
        try:
            counts = population_generate(
                persons=options["persons"],
                seed=options["seed"],
                compute=not options["no_compute"],
                progress=lambda message: sys.stderr.write(f"{message} ({time.monotonic() - started:.1f} s)\n"),
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(counts.as_dict() | {"seconds": round(time.monotonic() - started, 1)}))
