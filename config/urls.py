"""URL routes: the admin, the versioned API, its schema and docs page."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from health.passes import urls as passes_urls

api_v1 = [
    path("", include("health.api.urls")),
    path("", include("communities.api.urls")),
    path("", include("hotels.api.urls")),
    path("", include("entrants.api.urls")),
    path("", include(passes_urls.api_urlpatterns)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("verify/", include(passes_urls.page_urlpatterns)),
]

handler400 = "health.api.errors.bad_request"
handler404 = "health.api.errors.not_found"
