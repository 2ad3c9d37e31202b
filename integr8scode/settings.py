"""All configuration comes from environment variables (see README.md, "Configuration")."""

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from integr8scode.env import (
    ConfigError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_path,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
MONGODB_URL = env_secret("MONGODB_URL")
# Embedded mode: one machine, everything in one process, data under VAR_DIR.
EMBEDDED = not MONGODB_URL


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        return key
    if not EMBEDDED:
        raise ConfigError("SECRET_KEY (or SECRET_KEY_FILE) must be set when MONGODB_URL is set (production)")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _database(url: str) -> dict:
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3"}
    parts = urlsplit(url)
    engines = {"postgres": "postgresql", "postgresql": "postgresql", "sqlite": "sqlite3"}
    if parts.scheme not in engines:
        raise ConfigError(f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgresql:// or sqlite:///)")
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parts.path}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": parts.port or "",
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
    }


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if EMBEDDED else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "accounts",
    "executions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "integr8scode.urls"
ASGI_APPLICATION = "integr8scode.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": _database(env_secret("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_secret("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]

# Security headers; HTTPS-only cookies and HSTS when served behind TLS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- executions -------------------------------------------------------------------------

EXECUTION_LIMITS = {
    "wall_seconds": env_float("LIMIT_WALL_SECONDS", 10.0, minimum=0.1),
    "cpu_seconds": env_int("LIMIT_CPU_SECONDS", 10, minimum=1),
    "memory_mb": env_int("LIMIT_MEMORY_MB", 128, minimum=16),
    "processes": env_int("LIMIT_PROCESSES", 64, minimum=1),
    "disk_mb": env_int("LIMIT_DISK_MB", 16, minimum=1),
    "output_bytes": env_int("LIMIT_OUTPUT_BYTES", 1024 * 1024, minimum=1024),
}
SCRIPT_MAX_BYTES = env_int("LIMIT_SCRIPT_BYTES", 64 * 1024, minimum=1)
STDIN_MAX_BYTES = env_int("LIMIT_STDIN_BYTES", 64 * 1024, minimum=0)

_RUNNERS = {
    "local": "executions.runners.local.LocalRunner",
    "kubernetes": "executions.runners.kubernetes.KubernetesRunner",
}
_runner = env_str("EXECUTION_RUNNER", "local")
EXECUTION_RUNNER = {
    "BACKEND": _RUNNERS.get(_runner, _runner),
    "OPTIONS": {},
}
DEFAULT_RUNTIME = env_str("DEFAULT_RUNTIME")

EXECUTOR_EMBEDDED = env_bool("EXECUTOR_EMBEDDED", True)
EXECUTOR_CONCURRENCY = env_int("EXECUTOR_CONCURRENCY", os.cpu_count() or 1, minimum=1)
EXECUTION_LEASE_SECONDS = env_float("EXECUTION_LEASE_SECONDS", 30.0, minimum=1.0)
EXECUTOR_GRACE_SECONDS = env_float("EXECUTOR_GRACE_SECONDS", 15.0, minimum=0.0)
EXECUTION_MAX_ATTEMPTS = env_int("EXECUTION_MAX_ATTEMPTS", 2, minimum=1)

# --- logging ----------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "text"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.channels.server": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}

# Set by the test suite to keep its executions apart when MONGODB_URL points at a real server.
MONGODB_DB = env_str("MONGODB_DB")
