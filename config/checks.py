"""Deployment checks of this project (`manage.py check --deploy`), beyond Django's own."""
from django.conf import settings
from django.core import checks

DEMO_VALUES = {"embedded-demo-only-not-secret", "embedded-demo-id-hash-key"}


@checks.register(checks.Tags.security, deploy=True)
def health_deploy_checks(app_configs=None, **kwargs):
    errors = []
    if not getattr(settings, "ADMIN_OTP_REQUIRED", False):
        errors.append(
            checks.Warning(
                "ADMIN_OTP_REQUIRED is off: staff log into the admin with a password alone.",
                hint="Two-factor login may be switched off only in the embedded demo.",
                id="health.W001",
            )
        )
    if settings.PERSON_ID_HASH_KEY in DEMO_VALUES or len(settings.PERSON_ID_HASH_KEY) < 32:
        errors.append(
            checks.Warning(
                "PERSON_ID_HASH_KEY is the demo value or shorter than 32 characters.",
                hint="Set a long random PERSON_ID_HASH_KEY; ID digests are only as private as this key.",
                id="health.W002",
            )
        )
    if settings.SESSION_COOKIE_AGE > 30 * 60 or not settings.SESSION_SAVE_EVERY_REQUEST:
        errors.append(checks.Warning("Idle sessions must end within 30 minutes.", id="health.W003"))
    if settings.SESSION_ABSOLUTE_SECONDS > 12 * 3600:
        errors.append(checks.Warning("Sessions must end within 12 hours.", id="health.W004"))
    if not settings.SESSION_COOKIE_HTTPONLY:
        errors.append(checks.Warning("SESSION_COOKIE_HTTPONLY is off.", id="health.W005"))
    if not getattr(settings, "AXES_ENABLED", False):
        errors.append(checks.Warning("AXES_ENABLED is off: login attempts are not limited.", id="health.W006"))
    if "NUM_PROXIES" not in settings.REST_FRAMEWORK or settings.REST_FRAMEWORK["NUM_PROXIES"] is None:
        errors.append(checks.Warning("NUM_PROXIES must be set explicitly.", id="health.W007"))
    return errors
