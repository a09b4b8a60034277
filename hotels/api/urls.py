"""API routes of the hotels app (mounted under /api/v1/)."""
from django.urls import path

from hotels.api import views

urlpatterns = [
    path("hotels/", views.HotelCreateApi.as_view(), name="hotel-create"),
    path("hotels/<str:code>/checkins/", views.HotelCheckInsApi.as_view(), name="hotel-checkins"),
    path("checkins/<int:pk>/nat-tests/", views.CheckInNatTestsApi.as_view(), name="checkin-nat-tests"),
    path("checkins/<int:pk>/checkout/", views.CheckInCheckOutApi.as_view(), name="checkin-checkout"),
]
