"""API routes of the communities app (mounted under /api/v1/)."""
urlpatterns: list = []
