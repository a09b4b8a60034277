"""Production: secrets and services must come from the environment; secure transport everywhere."""
from .base import *  # noqa: F403
from .base import env, replica_databases

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
PERSON_ID_HASH_KEY = env("PERSON_ID_HASH_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
DATABASES.update(replica_databases(DATABASES["default"]))
DATABASE_REPLICAS = [alias for alias in DATABASES if alias != "default"]
DATABASE_ROUTERS = ["health.replicas.ReplicaRouter"] if DATABASE_REPLICAS else []

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
REFERRER_POLICY = "same-origin"
# Two factors for the admin: always in production (the demo is the only place it may be off).
ADMIN_OTP_REQUIRED = True
# And for API tokens: human staff send their current TOTP code; systems use machine keys.
API_TOKEN_OTP_REQUIRED = True
AXES_ENABLED = True
# Throttle counters and lockouts are shared by every web process: Redis is required here.
REDIS_URL = env("REDIS_URL")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
