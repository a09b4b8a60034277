"""Verify stored statuses against the engine: a random sample or everyone, optionally repairing what drifted."""
import json

from django.core.management.base import BaseCommand, CommandError

from health.services.verification import VerifyResult, statuses_verify


class Command(BaseCommand):
    help = (
        "校验已存健康状态：用规则引擎按当前事实重新判定（不写入），比较状态、判定依据与有效期。"
        "--sample N 随机抽查 N 人（默认 1000），--all 全量；--repair 将不一致者标记重算。"
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--sample", type=int, help="a random sample of N persons (default 1000)")
        which.add_argument("--all", action="store_true", help="every person whose status is clean and unexpired")
        parser.add_argument("--repair", action="store_true", help="mark every mismatch dirty (recomputed by the pipeline)")
        parser.add_argument("--batch-size", type=int, default=1000, help="persons per batch (default 1000)")

    def handle(self, *args, **options):
        sample = None if options["all"] else (options["sample"] if options["sample"] is not None else 1000)
        if (sample is not None and sample < 1) or options["batch_size"] < 1:
            raise CommandError("--sample and --batch-size must be at least 1")
        self.stderr.style_func = None  # progress, not an error
        result, run = statuses_verify(
            sample=sample, repair=options["repair"], batch_size=options["batch_size"], progress=self._progress
        )
        self.stderr.write("")
        self.stdout.write(
            json.dumps(
                {
                    "scope": run.scope,
                    "checked": result.checked,
                    "mismatches": result.mismatch_count,
                    "decisions_differ": result.decision_count,
                    "in_flight": result.in_flight,
                    "repaired": result.repaired,
                    "seconds": round(result.seconds, 2),
                    "persons_per_second": round(result.persons_per_second),
                }
            )
        )

    def _progress(self, total: VerifyResult) -> None:
        self.stderr.write(
            f"\r{total.checked} persons verified, {total.mismatch_count} mismatches, "
            f"{total.seconds:.1f} s ({total.persons_per_second:.0f}/s)",
            ending="",
        )
        self.stderr.flush()
