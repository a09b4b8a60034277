"""API routes of the communities app (mounted under /api/v1/)."""
from django.urls import path

from communities.api import views

urlpatterns = [
    path("communities/", views.CommunityCreateView.as_view(), name="community-create"),
    path("communities/<str:code>/quarantines/", views.CommunityQuarantinesView.as_view(), name="community-quarantines"),
    path("quarantines/<int:pk>/", views.QuarantineDetailView.as_view(), name="quarantine-detail"),
    path("quarantines/<int:pk>/lift/", views.QuarantineLiftView.as_view(), name="quarantine-lift"),
]
