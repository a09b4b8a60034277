"""What staff see of passes: issued per hour and the key in use (the health department's dashboard), and a
person's last pass (its time, expiry and status, never its text)."""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from health.display import beijing, beijing_time
from health.models import HealthStatus, Person

from . import issue, keys


def passes_summary(*, now: datetime | None = None, hours: int = 12) -> dict:
    """Passes issued in each of the last `hours` Beijing hours, and the current key id."""
    counts = issue.issued_per_hour(hours=hours, now=now or timezone.now())
    signer = keys.current_signer()
    return {
        "kid": signer.kid_text if signer is not None else None,
        "hours": [{"hour": f"{beijing(start):%H}:00", "count": count} for start, count in counts],
        "total": sum(count for _start, count in counts),
        "peak": max([count for _start, count in counts] or [0]) or 1,
    }


def last_pass_shown(person: Person) -> dict | None:
    issued = issue.last_pass(person_id=person.pk, id_digest=person.id_digest, name=person.name)
    if issued is None:
        return None
    return {
        "issued_at": beijing_time(issued.issued_at, seconds=True),
        "expires_at": beijing_time(issued.expires_at, seconds=True),
        "status": issued.status,
        "label": str(HealthStatus.Code(issued.status).label),
        "kid": issued.kid,
        "expired": issued.expires_at <= timezone.now(),
    }
