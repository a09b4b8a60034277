"""Import a border-control feed file (CSV or JSON lines): all rows or none."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from entrants import feed
from health.errors import ApplicationError


class Command(BaseCommand):
    help = "导入边检入境人员数据文件（CSV 或 JSON Lines）：全部行校验通过才写入，否则一行也不写。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV（含表头）或 JSON Lines 文件")
        parser.add_argument("--format", choices=feed.FORMATS, help="默认按扩展名判断（.csv / .jsonl / .ndjson）")
        parser.add_argument("--user", help="以该工作人员账号（海关边检或管理员）的名义导入；默认记为海关边检部门")

    def handle(self, *args, **options):
        path = Path(options["file"])
        feed_format = options["format"] or feed.format_of_name(path.name)
        if feed_format is None:
            raise CommandError("无法从扩展名判断格式，请指定 --format csv 或 --format jsonl。")
        try:
            # One byte past the limit is enough for the feed to refuse the file as too large.
            with path.open("rb") as file:
                content = file.read(feed.MAX_BYTES + 1)
        except OSError as error:
            raise CommandError(f"无法读取文件：{error.strerror}") from None
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError("未知的账号。")
        try:
            accepted = feed.feed_import(actor=actor, content=content, feed_format=feed_format)
        except feed.FeedRejected as rejected:
            for message in rejected.file_errors:
                self.stderr.write(str(message))
            for row in rejected.rejected:
                for field, messages in row["errors"].items():
                    self.stderr.write(f"第 {row['line']} 行 {field}: {'；'.join(messages)}")
            raise CommandError(f"文件未导入：{len(rejected.rejected)} 行有误，未写入任何数据。") from None
        except ApplicationError as error:
            raise CommandError(str(error.message)) from None
        self.stdout.write(f"已导入 {accepted} 行。")
