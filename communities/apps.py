from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunitiesConfig(AppConfig):
    name = "communities"
    verbose_name = _("社区")

    def ready(self) -> None:
        from communities import facts, services
        from health import registry

        registry.register(facts.SOURCE)
        registry.register_release_effect("communities.quarantines_lift", services.quarantines_lift_on_release)
