"""The public status query's own handler: Django's, with only the middleware its answer needs.

The status query is the endpoint the whole city calls at once; Django's full handler runs 14
middleware for it, most of them for signed-in staff (sessions, authentication, CSRF, messages, two
factors, lockouts, history), and costs about twice the whole of a hand-written lookup
(docs/scaling.md). `PublicHandler` is a `WSGIHandler` loaded with `PUBLIC_MIDDLEWARE` instead (the
security headers, the NUL refusal, the language of the label, Content-Length, X-Frame-Options),
and `config/wsgi.py` sends it the paths of `PUBLIC_PATHS`. It resolves the URL with the same URL
configuration and runs the same view, serializers, throttles and reads: there is no second endpoint.
The tests compare both handlers' answers, headers included (tests/health/test_public_handler.py).
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

# Answered by PublicHandler (exact paths, any method: a GET gets the same 405 as before).
PUBLIC_PATHS = frozenset({"/api/v1/status/query/"})


class PublicHandler(WSGIHandler):
    def load_middleware(self, is_async=False):
        # Django's own loading, over the public list (once, when the process starts).
        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.PUBLIC_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything
