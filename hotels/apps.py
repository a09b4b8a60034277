from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotelsConfig(AppConfig):
    name = "hotels"
    verbose_name = _("酒店")

    def ready(self) -> None:
        from health import registry
        from hotels import facts

        registry.register(facts.SOURCE)
