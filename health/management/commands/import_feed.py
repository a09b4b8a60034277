"""Import a department's feed file (stays, designations, risk-areas, entrants; CSV or JSON lines): all rows or none."""
import json
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from health.errors import ApplicationError
from health.feeds import FeedRejected, feed_import, kinds


class Command(BaseCommand):
    help = "导入部门数据文件（行程、病例认定、风险地区、入境人员；CSV 或 JSON Lines）：全部行校验通过才写入，否则一行也不写。"

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=kinds())
        parser.add_argument("file", help="CSV（含表头）或 JSON Lines 文件")
        parser.add_argument("--format", choices=("csv", "jsonl"), help="默认按扩展名判断（.csv / .jsonl / .ndjson）")
        parser.add_argument("--user", help="以该工作人员账号的名义导入（记录来源与录入人）")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError("无法读取文件。")
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError("未知的账号。")
        started = time.monotonic()
        try:
            result = feed_import(kind=options["kind"], path=path, feed_format=options["format"], actor=actor)
        except FeedRejected as rejected:
            for message in rejected.file_errors:
                self.stderr.write(str(message))
            for row in rejected.rejected:
                for field, messages in row["errors"].items():
                    self.stderr.write(f"第 {row['line']} 行 {field}: {'；'.join(str(m) for m in messages)}")
            total = getattr(rejected, "total", len(rejected.rejected))
            raise CommandError(f"文件未导入：{total} 行有误，未写入任何数据。") from None
        except ApplicationError as error:
            raise CommandError(str(error.message)) from None
        result["seconds"] = round(time.monotonic() - started, 2)
        self.stdout.write(json.dumps(result, ensure_ascii=False))
