"""The admin site: two-factor (django-otp TOTP) when ADMIN_OTP_REQUIRED, else Django's password login."""
from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django_otp.admin import OTPAdminAuthenticationForm


def otp_required() -> bool:
    return bool(getattr(settings, "ADMIN_OTP_REQUIRED", True))


class HealthAdminSite(AdminSite):
    """The default admin site; read per request so that a test (or the demo's environment) can switch 2FA.

    With 2FA on, a staff account that has not verified a device this session is treated as not
    staff (django-otp's OTPAdminSite rule): the login form asks for the token of a TOTP device.
    """

    @property
    def login_form(self):
        return OTPAdminAuthenticationForm if otp_required() else AdminAuthenticationForm

    @property
    def login_template(self):
        return "otp/admin111/login.html" if otp_required() else None

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        return not otp_required() or request.user.is_verified()

