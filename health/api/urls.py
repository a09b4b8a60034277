"""API routes of the core app (mounted under /api/v1/)."""
urlpatterns: list = []
