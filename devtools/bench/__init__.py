"""Benchmarks: `python manage.py benchmark NAME` (recompute, ingest, lookup, propagation, fanout); see docs/scaling.md."""
