"""The product's routes plus the baselines of the lookup benchmark under /bench/ (local, test and benchmark settings only)."""
from django.urls import include, path

from config.urls import handler400, handler404  # noqa: F401 - the product's error answers, read from the root URLconf
from devtools.bench import views

urlpatterns = [
    path("bench/minimal-status/", views.minimal_status, name="bench-minimal-status"),
    path("bench/minimal-status-prepared/", views.minimal_status_prepared, name="bench-minimal-status-prepared"),
    path("bench/hello/", views.hello, name="bench-hello"),
    path("", include("config.urls")),
]
