"""`pass_keys list | rotate | revoke KID`: the keys that sign passes (docs/pass.md)."""
from django.core.management.base import BaseCommand, CommandError

from health.display import beijing_time
from health.passes import keys
from health.passes.models import PassKey


class Command(BaseCommand):
    help = "List, rotate or revoke the keys that sign passes."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "rotate", "revoke"])
        parser.add_argument("kid", nargs="?", help="the key id to revoke")

    def handle(self, *args, action, kid=None, **options):
        if action == "rotate":
            row, pem = keys.rotate()
            self.stdout.write(f"new key {row.kid}")
            if pem is not None:
                self.stdout.write("Set PASS_SIGNING_KEY to this key and restart; the old key is retired when it signs:")
                self.stdout.write(pem.decode())
        elif action == "revoke":
            if not kid:
                raise CommandError("revoke needs the key id (pass_keys list)")
            try:
                keys.revoke(kid)
            except PassKey.DoesNotExist:
                raise CommandError(f"no key {kid}") from None
            self.stdout.write(f"revoked {kid}")
        current = keys.current_registered()
        for row in PassKey.objects.all():
            state = "revoked" if row.revoked_at else "retired" if row.retired_at else "current"
            marker = "*" if current is not None and row.kid == current.kid else " "
            self.stdout.write(
                f"{marker} {row.kid}  {state:8}  from {beijing_time(row.created_at)}  "
                f"published until {beijing_time(row.valid_to) if row.valid_to else '-'}"
            )
