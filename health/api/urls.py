"""API routes of the core app (mounted under /api/v1/)."""
from django.urls import path

from . import corrections, merge, status_query, views

urlpatterns = [
    # First: the endpoint of the morning peak is matched before any other.
    path("status/query/", status_query.status_query_view(), name="status-query"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("risk-areas/", views.RiskAreaListView.as_view(), name="risk-area-list"),
    path("risk-areas/<int:pk>/", views.RiskAreaDetailView.as_view(), name="risk-area-detail"),
    path("risk-areas/<int:pk>/withdraw/", views.RiskAreaWithdrawView.as_view(), name="risk-area-withdraw"),
    path("designations/", views.DesignationListView.as_view(), name="designation-list"),
    path("designations/<int:pk>/clear/", views.DesignationClearView.as_view(), name="designation-clear"),
    path("designations/<int:pk>/withdraw/", views.DesignationWithdrawView.as_view(), name="designation-withdraw"),
    path("itinerary/stays/", views.StaysView.as_view(), name="itinerary-stays"),
    path("status/declarations/", views.DeclarationView.as_view(), name="status-declarations"),
    path("status/corrections/", corrections.CorrectionView.as_view(), name="status-corrections"),
    path("persons/status/", views.PersonStatusView.as_view(), name="person-status"),
    path("persons/correct-name/", views.PersonNameCorrectView.as_view(), name="person-correct-name"),
    path("persons/merge/", merge.PersonMergeView.as_view(), name="person-merge"),
]
