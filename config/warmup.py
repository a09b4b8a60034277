"""What a new worker process would otherwise build on its first request, built once in gunicorn's master.

gunicorn preloads the app (`preload_app`), but Django still imports the URL configuration — and
with it every view, serializer and DRF class — on the first request a process serves, loads each
language's translation catalog on first use, and the cache imports redis-py on its first use. In a fresh worker that first request took ~190 ms (measured), and with
`max_requests` a worker is replaced every few minutes at the peak: every replacement cost a burst
of such requests. Done in the master before the workers are forked, it is done once and shared
copy-on-write. Nothing here touches the database or Redis (connections must not cross a fork).

The first write of a process also paid for Celery: the first task sent after a commit finalized the
app (its task registry), imported kombu's Redis transport and the result backend's module, and built
the router: a designation POST took 77 ms in a fresh process against 17-20 ms after (measured, the
propagation benchmark's write), and with three worker processes those first writes were the p99 of
`benchmark propagation` (docs/scaling.md, "Fifth round"). They are built here too; the
broker connection itself is still made by each process on its first send.
"""
from __future__ import annotations


def warm_up() -> None:
    from django.conf import settings
    from django.core.cache import DEFAULT_CACHE_ALIAS, caches
    from django.core.cache.backends.redis import RedisCache
    from django.urls import get_resolver, resolve
    from django.utils import translation

    from health.identity import id_number_clean

    get_resolver().url_patterns  # noqa: B018 - imports the URL configuration and every view
    resolve("/api/v1/status/query/")
    resolve("/admin/")
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("弹窗")
    id_number_clean("11010519491231002X")  # the validator and its regular expressions
    _celery_warm_up()
    import cryptography.hazmat.backends.openssl  # noqa: F401 - imported by the first pass signed otherwise
    cache = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(cache, RedisCache):
        cache._cache  # noqa: B018 - imports redis-py (~60 ms); its client connects on first use only


def _celery_warm_up() -> None:
    """Celery's app finalized, its transport and result backend classes imported: no connection is made."""
    from config.celery_app import app

    app.tasks  # noqa: B018 - finalizes the app: every task registered
    app.amqp.router  # noqa: B018 - the routes and queues a send consults
    app.connection_for_write().transport_cls  # noqa: B018 - the transport's class (kombu's Redis or AMQP module)
    if app.conf.result_backend:
        app.backend  # noqa: B018 - the result backend's class, imported (this thread's instance; it connects on use)


def warm_up_worker() -> None:
    """In each worker process after the fork, before it serves: what needs the process's own connections.

    The pass signer: its key loaded and on the published list (a database write once per key) and its
    revocation read from the cache, which the first public answer of every new worker paid for (12 ms
    measured in-process). The connections this opens are closed again: the request threads open their
    own. A failure is logged and left to the first request, which does the same work as before.
    """
    import logging

    from django.db import connections

    from health.passes.keys import current_signer

    try:
        current_signer()
    except Exception as error:  # noqa: BLE001 - a worker must start even if the database is down
        logging.getLogger(__name__).warning("worker warm-up skipped: %s", type(error).__name__)
    finally:
        connections.close_all()
