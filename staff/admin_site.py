"""The admin site (the staff layer's, above every app): two-factor (django-otp TOTP) when ADMIN_OTP_REQUIRED, else Django's password login."""
from django.apps import apps
from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm

from health.admin_links import viewer_kept


def otp_required() -> bool:
    return bool(getattr(settings, "ADMIN_OTP_REQUIRED", True))


# Apps and models of the libraries we use, named for staff (their own names are English).
THIRD_PARTY_NAMES = {
    "axes": (_("登录防护"), {
        "accessattempt": (_("登录失败尝试"), _("登录失败尝试")),
        "accessfailurelog": (_("登录失败记录"), _("登录失败记录")),
        "accesslog": (_("登录记录"), _("登录记录")),
    }),
    "otp_totp": (_("两步验证：动态口令"), {"totpdevice": (_("动态口令设备"), _("动态口令设备"))}),
    "otp_static": (_("两步验证：备用码"), {"staticdevice": (_("备用码设备"), _("备用码设备"))}),
    "knox": (_("接口令牌"), {"authtoken": (_("员工接口令牌"), _("员工接口令牌"))}),
}


def third_party_names() -> None:
    """Chinese names (translatable) for the libraries' apps and models on the admin index."""
    for label, (app_name, models) in THIRD_PARTY_NAMES.items():
        try:
            config = apps.get_app_config(label)
        except LookupError:  # not installed in this configuration
            continue
        config.verbose_name = app_name
        for model_name, (singular, plural) in models.items():
            opts = config.get_model(model_name)._meta
            opts.verbose_name, opts.verbose_name_plural = singular, plural


class HealthAdminSite(AdminSite):
    """The default admin site; read per request so that a test (or the demo's environment) can switch 2FA.

    With 2FA on, a staff account that has not verified a device this session is treated as not
    staff (django-otp's OTPAdminSite rule): the login form asks for the token of a TOTP device.
    """

    site_header = _("健康宝管理后台")
    site_title = _("健康宝")
    index_title = _("管理首页")
    # No "view site" link: the product has no public web site of its own to go to.
    site_url = None

    @property
    def login_form(self):
        return OTPAdminAuthenticationForm if otp_required() else AdminAuthenticationForm

    @property
    def login_template(self):
        return "otp/admin111/login.html" if otp_required() else None

    def admin_view(self, view, cacheable=False):
        # Read-only relations link only to what this viewer may open (health/admin_links.py).
        return super().admin_view(viewer_kept(view), cacheable)

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        return not otp_required() or request.user.is_verified()

