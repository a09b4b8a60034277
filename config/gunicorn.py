"""Gunicorn for production: `gunicorn -c config/gunicorn.py config.wsgi`; every value can be set from the environment.

Threaded workers keep client connections alive (a sync worker closes each one) and overlap a
request's database round trips with another's Python work; one process per core plus one keeps
the cores busy while a worker waits. Measured on this 2-core machine: see README, "Benchmarks".
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# Recycle workers now and then, so that a slow leak never becomes an outage; rarely, because a new
# worker's first requests are slow (connections, per-thread state): at the peak's ~500 requests/s
# per worker, 20,000 meant a replacement every 40 s and a burst of 0.1-0.7 s answers each time
# (measured); 200,000 means one every ~7 minutes.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = max_requests // 10
# Loaded once in the master, shared copy-on-write by the workers.
preload_app = True
# No access log by default: a reverse proxy in front keeps one; nothing personal is ever in a URL.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")


_warmed = False


def pre_fork(server, worker):
    """In the master, just before a worker is forked: the app warmed, then frozen out of the collector's way.

    The warm-up (`config/warmup.py`, once) builds what Django would otherwise build in every new
    worker on its first request (~190 ms measured: the URL configuration and its views, the
    translation catalogs, redis-py's import), with no database or Redis connection.
    gc.freeze() then moves every object alive (Django, the URL map, the models: ~100,000) to a
    permanent generation that collections skip: a full collection of the app's objects took 26 ms
    (measured in a process with the app loaded; a pause every request in flight waits through),
    with them frozen it only walks what the worker made since. The collector no longer writes to
    the shared pages either, so they stay shared copy-on-write.
    """
    global _warmed
    import gc

    from django.apps import apps

    if not _warmed and apps.ready:
        from config.warmup import warm_up

        warm_up()
        _warmed = True
    gc.freeze()


def post_worker_init(worker):
    """In each new worker, before it accepts a request: the warm-up that needs its own connections."""
    from config.warmup import warm_up_worker

    warm_up_worker()
