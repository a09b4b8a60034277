"""Delete the records of merged stays that ended before the retention plus a margin, in small batches (each its own transaction)."""
import time

from django.core.management.base import BaseCommand, CommandError

from health.display import beijing_time
from health.purge import BATCH, MARGIN_DAYS, stays_purge, stays_purge_horizon


class Command(BaseCommand):
    help = "删除已超出保留期（加余量）的行程记录（按合并后的停留判断），小批量分事务执行，不阻塞数据上报。"

    def add_arguments(self, parser):
        parser.add_argument("--margin-days", type=int, default=MARGIN_DAYS, help=f"days kept past the retention (default {MARGIN_DAYS})")
        parser.add_argument("--batch-size", type=int, default=BATCH, help=f"stays per transaction (default {BATCH})")
        parser.add_argument("--pause", type=float, default=0.0, help="seconds to sleep between batches")

    def handle(self, *args, **options):
        if options["margin_days"] < 0 or options["batch_size"] < 1:
            raise CommandError("--margin-days must be >= 0 and --batch-size >= 1")
        horizon = stays_purge_horizon(margin_days=options["margin_days"])
        started = time.monotonic()
        deleted = stays_purge(margin_days=options["margin_days"], batch_size=options["batch_size"], pause=options["pause"])
        self.stdout.write(
            f"deleted {deleted} stays that ended before {beijing_time(horizon)} Beijing time ({time.monotonic() - started:.1f} s)"
        )
