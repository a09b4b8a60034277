"""The CPU a status query spends on its pass (issue 17: < 1 ms): measured in process, on the configured cache.

`new`: every answer a different one (signed: cwt ES256, zlib, Base45, cache write, hourly count) — the
worst case, a first query. `same`: the same answer again within PASS_REUSE (one cache read).
"""
from __future__ import annotations

import time

from django.utils import timezone


def pass_cpu_us(count: int = 2000) -> dict:
    from devtools.population import person_identity
    from health.identity import id_number_digest
    from health.models import HealthStatus
    from health.passes.answers import public_status_payload

    now = timezone.now()
    identities = [person_identity(10_000_000 + n) for n in range(count)]
    statuses = [
        HealthStatus(person_id=n + 1, status="no_abnormality", reasons=["G1"], valid_until=None, computed_at=now, policy_version=1)
        for n in range(count)
    ]
    digests = [id_number_digest(number) for _name, number in identities]
    public_status_payload(statuses[0], name=identities[0][0], id_number=identities[0][1], id_digest=digests[0])  # key loaded

    def run() -> float:
        start = time.process_time()
        for status, (name, number), digest in zip(statuses, identities, digests, strict=True):
            public_status_payload(status, name=name, id_number=number, id_digest=digest)
        return (time.process_time() - start) / count * 1e6

    new = run()
    same = run()
    return {"pass_new_cpu_us": round(new), "pass_same_cpu_us": round(same), "pass_samples": count}
