from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PassesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "health.passes"
    label = "passes"
    verbose_name = _("通行凭证")
