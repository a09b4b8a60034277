"""WSGI entry point (gunicorn config.wsgi): the public status query through its lean handler, the rest through Django's."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
django_application = get_wsgi_application()

from config.public import PUBLIC_PATHS, PublicHandler  # noqa: E402 - once Django is set up

public_application = PublicHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO") in PUBLIC_PATHS:
        return public_application(environ, start_response)
    return django_application(environ, start_response)
