from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EntrantsConfig(AppConfig):
    name = "entrants"
    verbose_name = _("入境人员")

    def ready(self) -> None:
        from entrants import facts, feed
        from health import registry

        registry.register(facts.SOURCE)
        registry.register_feed(feed.KIND)
