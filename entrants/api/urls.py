"""API routes of the entrants app (mounted under /api/v1/)."""
urlpatterns: list = []
