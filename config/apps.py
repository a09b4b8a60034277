"""django.contrib.admin with this project's default site (two factors when required) and its deploy checks."""
from django.contrib.admin.apps import AdminConfig


class HealthAdminConfig(AdminConfig):
    default_site = "staff.admin_site.HealthAdminSite"

    def ready(self):
        super().ready()
        from config import checks  # noqa: F401 - registers the deployment checks
        from staff.admin_site import third_party_names

        third_party_names()
