"""`verify_pass TEXT`: what a venue's own system does with a pass (exit 0 valid, 1 refused)."""
from django.core.management.base import BaseCommand, CommandError

from health.display import beijing_time
from health.passes.verify import verify_pass


class Command(BaseCommand):
    help = "Verify a pass (HK1:...) against the published keys."

    def add_arguments(self, parser):
        parser.add_argument("text")

    def handle(self, *args, text, **options):
        verified = verify_pass(text)
        if not verified.ok:
            raise CommandError(f"refused: {verified.refusal}")
        payload = verified.payload
        self.stdout.write(
            f"valid: {payload['l']} ({payload['s']})  {payload['n']}  {payload['d']}  "
            f"expires {beijing_time(verified.expires_at, seconds=True)}  key {verified.kid}"
        )
