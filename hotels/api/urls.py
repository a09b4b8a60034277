"""API routes of the hotels app (mounted under /api/v1/)."""
urlpatterns: list = []
