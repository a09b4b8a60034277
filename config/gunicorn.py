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
# Recycle workers now and then, so that a slow leak never becomes an outage.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = 2000
# Loaded once in the master, shared copy-on-write by the workers.
preload_app = True
# No access log by default: a reverse proxy in front keeps one; nothing personal is ever in a URL.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")


def pre_fork(server, worker):
    """In the master, just before a worker is forked: the preloaded app's objects out of the collector's way.

    gc.freeze() moves every object alive now (Django, the URL map, the models: ~100,000) to a
    permanent generation that collections skip: a full collection of the app's objects took 26 ms
    (measured in a process with the app loaded; a pause every request in flight waits through),
    with them frozen it only walks what the worker made since. The collector no longer writes to
    the shared pages either, so they stay shared copy-on-write.
    """
    import gc

    gc.freeze()
