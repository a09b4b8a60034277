from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthConfig(AppConfig):
    name = "health"
    verbose_name = _("健康状态")

    def ready(self) -> None:
        from health import (
            auth,
            facts,
            feeds,
            registry,
            tasks,  # noqa: F401 - registers the tasks that the status services send by name
        )

        registry.register(facts.SOURCE)
        for kind in feeds.CORE_KINDS:
            registry.register_feed(kind)
        auth.connect_revocation()
