"""What a new worker process would otherwise build on its first request, built once in gunicorn's master.

gunicorn preloads the app (`preload_app`), but Django still imports the URL configuration — and
with it every view, serializer and DRF class — on the first request a process serves, loads each
language's translation catalog on first use, and the cache imports redis-py on its first use. In a fresh worker that first request took ~190 ms (measured), and with
`max_requests` a worker is replaced every few minutes at the peak: every replacement cost a burst
of such requests. Done in the master before the workers are forked, it is done once and shared
copy-on-write. Nothing here touches the database or Redis (connections must not cross a fork).
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
    cache = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(cache, RedisCache):
        cache._cache  # noqa: B018 - imports redis-py (~60 ms); its client connects on first use only
