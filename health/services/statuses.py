"""The status pipeline's public names, in one place for its callers. Each job has a module of its own:

- status_inputs: the policy in force and the risk areas, as engine inputs (reads);
- status_marking: dirty marking and enqueueing after commit;
- status_recompute: recompute and store (batches, id ranges, a stale status before it is served);
- status_sweep: the periodic repair (lost enqueues, statuses now due, planned policy versions);
- status_fanout: a region's or the policy's change to every person it can touch.

None of them imports this module or health.tasks: the tasks send by name (status_marking).
"""
from health.services.status_fanout import (  # noqa: F401
    person_id_chunks,
    persons_at_region,
    region_risk_changed,
    statuses_recompute_all,
)
from health.services.status_inputs import (  # noqa: F401
    chunked,
    policy_current,
    risk_areas_current,
    risk_facts_current,
)
from health.services.status_marking import (  # noqa: F401
    persons_mark_dirty,
    persons_mark_dirty_range,
    statuses_enqueue,
    statuses_enqueue_ranges,
)
from health.services.status_recompute import (  # noqa: F401
    STATUS_FIELDS,
    RecomputeResult,
    _statuses_write,
    person_id_ranges,
    person_status_fresh,
    status_is_stale,
    statuses_evaluate,
    statuses_recompute,
    statuses_recompute_range,
)
from health.services.status_sweep import (  # noqa: F401
    statuses_sweep,
)
