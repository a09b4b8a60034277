"""API routes of the entrants app (mounted under /api/v1/)."""

from django.urls import path

from entrants.api import views

urlpatterns = [
    path("entrants/", views.InboundCaseListView.as_view(), name="entrants-list"),
    path("entrants/import/", views.InboundImportView.as_view(), name="entrants-import"),
    path("entrants/<int:pk>/", views.InboundCaseDetailView.as_view(), name="entrants-detail"),
    path("entrants/<int:pk>/release/", views.InboundCaseReleaseView.as_view(), name="entrants-release"),
]
