"""Routes of the pass: the API under /api/v1/passes/, the verify page at /verify/."""
from django.urls import path

from . import views

api_urlpatterns = [
    path("passes/keys/", views.PassKeysView.as_view(), name="pass-keys"),
    path("passes/qr/", views.PassQrView.as_view(), name="pass-qr"),
    path("passes/check/", views.PassCheckView.as_view(), name="pass-check"),
]

page_urlpatterns = [
    path("", views.verify_page, name="pass-verify"),
    path("sw.js", views.service_worker, name="pass-verify-sw"),
]
