"""All configuration comes from environment variables (see README.md, "Configuration")."""

import base64
import hashlib
import json
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.utils.csp import CSP
from servestatic.compress import Compressor

from integr8scode import keys
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
from integr8scode.logs import logging_config

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
    # The serving processes make it (integr8scode.keys); until one has, a key for this process.
    return keys.read(VAR_DIR, keys.SECRET_KEY_FILE) or secrets.token_urlsafe(50)


# Writers take SQLite's lock when their transaction begins, not when they first write, and wait
# for it: concurrent sign-ins (a read, then a write, in one transaction) otherwise fail with
# "database is locked" instead of waiting their turn.
_SQLITE_OPTIONS = {"transaction_mode": "IMMEDIATE", "timeout": 20}


def _database(url: str) -> dict:
    if not url:
        return {"ENGINE": "integr8scode.sqlite", "NAME": VAR_DIR / "db.sqlite3", "OPTIONS": _SQLITE_OPTIONS}
    parts = urlsplit(url)
    engines = {"postgres": "postgresql", "postgresql": "postgresql", "sqlite": "sqlite3"}
    if parts.scheme not in engines:
        raise ConfigError(f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgresql:// or sqlite:///)")
    if parts.scheme == "sqlite":
        return {"ENGINE": "integr8scode.sqlite", "NAME": parts.path, "OPTIONS": _SQLITE_OPTIONS}
    return {
        "ENGINE": "django_prometheus.db.backends.postgresql",
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
    # Not "daphne": it only swaps in its runserver, and importing Twisted costs every management
    # command 0.3 s. The site is served by integr8scode.serve (Daphne).
    "servestatic",  # its system checks
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's session list ({% load humanize %})
    "channels",
    "ninja",
    "django_vite",
    "django_prometheus",
    "accounts",
    "executions",
    "scripts",
    # accounts: after "accounts", whose templates override allauth's.
    "allauth",
    "allauth.account",
    "allauth.headless",
    "allauth.usersessions",
]

MIDDLEWARE = [
    # First, and asynchronous: /static/ is answered on the event loop, without the thread hop of
    # the synchronous stack below (see sync_middleware_stack).
    "integr8scode.static_files.StaticFilesMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "integr8scode.logs.request_id_middleware",
    "integr8scode.middleware.api_errors_as_json",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "integr8scode.middleware.allauth_bodies_checked",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "integr8scode.middleware.AppErrorPages",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "integr8scode.middleware.sync_middleware_stack",  # last: see its docstring
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
    CACHES = {"default": {"BACKEND": "django_prometheus.cache.backends.locmem.LocMemCache"}}

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

# --- static files and islands (pages) ---------------------------------------------------
# `manage.py collectstatic` (make run does it; the test session too) fills STATIC_ROOT: each file
# under a content-hashed name (Vite's own files keep Vite's hashed names), with gzip and brotli
# copies and the manifest that {% static %} and django-vite read, strictly: a file missing from it
# is an error, not a page linking to nothing. integr8scode.static_files serves them with ServeStatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "integr8scode.static_files.StaticFilesStorage"},
}
SERVESTATIC_MAX_AGE = 3600  # seconds, for names without a hash (hashed ones: a year, immutable)
# Source maps are fetched by developer tools only; compressing the API docs' (5 MB) was two
# thirds of collectstatic's time.
SERVESTATIC_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
DJANGO_VITE = {
    "default": {
        "dev_mode": False,
        "manifest_path": BASE_DIR / "static" / "islands" / ".vite" / "manifest.json",
        "static_url_prefix": "islands",
    },
}
# --- end of static files and islands ----------------------------------------------------

# Security headers; HTTPS-only cookies and HSTS when served behind TLS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts only from this site's own files (the islands, the admin's, the API docs') and the one
# inline script base.html has (templates/_theme.js, the theme set before the first paint), by its
# hash: an injected script does not run. Styles may be inline: the editor (CodeMirror) and the
# API docs inject theirs at run time.
THEME_SCRIPT_HASH = "'sha256-{}'".format(
    base64.b64encode(hashlib.sha256((BASE_DIR / "templates" / "_theme.js").read_bytes()).digest()).decode()
)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, THEME_SCRIPT_HASH],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],  # same-origin WebSockets included
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
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
STDIN_MAX_BYTES = env_int("LIMIT_STDIN_BYTES", 64 * 1024, minimum=0)  # with what is typed, for interactive runs
# A compiled language's build, before its program runs (executions/runners/languages.py): limits
# of its own, large enough for rustc and javac, that the program's do not pay for.
COMPILE_LIMITS = {
    "wall_seconds": env_float("COMPILE_LIMIT_WALL_SECONDS", 30.0, minimum=1.0),
    "cpu_seconds": env_int("COMPILE_LIMIT_CPU_SECONDS", 30, minimum=1),
    "memory_mb": env_int("COMPILE_LIMIT_MEMORY_MB", 1024, minimum=64),
    "processes": 64,
    # Scratch space for the build (objects, caches), on top of the program's disk limit.
    "disk_mb": env_int("COMPILE_LIMIT_DISK_MB", 256, minimum=16),
    "output_bytes": env_int("COMPILE_LIMIT_OUTPUT_BYTES", 64 * 1024, minimum=1024),
}
# Interactive runs (fed input while they run): a wall cap of their own, as a person types
# slowly; the CPU cap stays. A session waiting for input this long with none coming is ended.
# At most this many are open on the server at once (each caller's share is a quota, below).
INTERACTIVE_WALL_SECONDS = env_float("LIMIT_INTERACTIVE_WALL_SECONDS", 300.0, minimum=1.0)
INTERACTIVE_IDLE_SECONDS = env_float("INTERACTIVE_IDLE_SECONDS", 60.0, minimum=1.0)
INTERACTIVE_SESSIONS_MAX = env_int("INTERACTIVE_SESSIONS_MAX", 32, minimum=0)  # 0: no interactive runs

_RUNNERS = {
    "local": "executions.runners.local.LocalRunner",
    "kubernetes": "executions.runners.kubernetes.KubernetesRunner",
}
_runner = env_str("EXECUTION_RUNNER", "local")
EXECUTION_RUNNER = {
    "BACKEND": _RUNNERS.get(_runner, _runner),
    "OPTIONS": {},
}
# Which runtimes to serve beside Python (executions/runners/languages.py): "python" (the
# default), "all" the installed ones, or a list of names ("c javascript"); `make` installs the same.
RUNTIMES = [name for item in env_list("RUNTIMES", ["python"]) for name in item.split()]
_languages = True if RUNTIMES == ["all"] else [name for name in RUNTIMES if name != "python"]
LOCAL_ISOLATION = env_str("LOCAL_ISOLATION", "bubblewrap")
if LOCAL_ISOLATION not in ("bubblewrap", "gvisor"):
    raise ConfigError(f"LOCAL_ISOLATION={LOCAL_ISOLATION!r} must be bubblewrap or gvisor")
# The runtimes: the bare interpreter (the default) and the data-science one, the same interpreter
# with the locked packages `make` installs (runtimes/python-data/), unless DATA_RUNTIME_DIR is empty.
BARE_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
DATA_RUNTIME = f"{BARE_RUNTIME}-data"
DATA_RUNTIME_DIR = env_str("DATA_RUNTIME_DIR", str(BASE_DIR / ".runtimes" / "python-data"))
if EXECUTION_RUNNER["BACKEND"] == _RUNNERS["local"]:
    _interpreter = os.path.realpath(sys._base_executable)
    _runtimes = {BARE_RUNTIME: _interpreter}
    if DATA_RUNTIME_DIR:
        _runtimes[DATA_RUNTIME] = {
            "python": _interpreter,
            "packages": f"{DATA_RUNTIME_DIR}/site-packages",
            "preload": "integr8scode_warm",  # numpy, pandas, matplotlib and a first figure, ahead
        }
    EXECUTION_RUNNER["OPTIONS"] = {
        "isolation": LOCAL_ISOLATION,
        "scratch_files": env_int("LIMIT_SCRATCH_FILES", 4096, minimum=16),  # inodes in a sandbox's /tmp
        # bubblewrap, as root: every run forks from a warm template of its runtime (docs/templates.md)
        "templates": env_bool("LOCAL_TEMPLATES", True),
        "languages": _languages,
        "runtimes": _runtimes,
    }
# --- begin: kubernetes runner options from env (issue 5; documented in deploy/README.md) ---
if EXECUTION_RUNNER["BACKEND"] == _RUNNERS["kubernetes"]:

    def _pairs(name: str) -> dict[str, str] | None:
        items = env_list(name)
        if any("=" not in item for item in items):
            raise ConfigError(f"{name} must be comma-separated key=value pairs, e.g. python3.13=repo/image:tag")
        return {key.strip(): value.strip() for key, value in (item.split("=", 1) for item in items)} or None

    def _json(name: str, kind: type) -> list | dict | None:
        text = env_str(name)
        try:
            value = json.loads(text) if text else None
        except ValueError as exc:
            raise ConfigError(f"{name} must be JSON: {exc}") from None
        if value is not None and not isinstance(value, kind):
            raise ConfigError(f"{name} must be a JSON {'list' if kind is list else 'object'}")
        return value or None

    _kubernetes = {  # None: the runner's default (executions/runners/kubernetes/manifests.py)
        "namespace": env_str("KUBERNETES_NAMESPACE") or None,
        "runtime_images": _pairs("KUBERNETES_RUNTIME_IMAGES"),
        "runtime_class": env_str("KUBERNETES_RUNTIME_CLASS") or None,
        "image_pull_policy": env_str("KUBERNETES_IMAGE_PULL_POLICY") or None,
        "image_pull_secrets": env_list("KUBERNETES_IMAGE_PULL_SECRETS") or None,
        "image_pull_timeout": env_float("KUBERNETES_IMAGE_PULL_TIMEOUT", 60.0, minimum=1.0),
        "cpu_request": env_str("KUBERNETES_CPU_REQUEST") or None,
        "cpu_limit": env_str("KUBERNETES_CPU_LIMIT") or None,
        "node_selector": _pairs("KUBERNETES_NODE_SELECTOR"),
        "tolerations": _json("KUBERNETES_TOLERATIONS", list),
        "affinity": _json("KUBERNETES_AFFINITY", dict),
        "user_namespaces": env_bool("KUBERNETES_USER_NAMESPACES", True),
        # Failures of the cluster's: pods starting at once, the grace of a deletion, how long a
        # silent log is trusted, and how long its kubelet has to answer (runners/kubernetes/runner.py).
        "max_starting": env_int("KUBERNETES_MAX_STARTING", 10, minimum=1),
        "delete_grace": env_int("KUBERNETES_DELETE_GRACE", 2, minimum=1),
        "log_idle_timeout": env_float("KUBERNETES_LOG_IDLE_TIMEOUT", 30.0, minimum=1.0),
        "probe_timeout": env_float("KUBERNETES_PROBE_TIMEOUT", 10.0, minimum=1.0),
        "kubeconfig": env_str("KUBERNETES_KUBECONFIG") or None,
        "context": env_str("KUBERNETES_CONTEXT") or None,
    }
    EXECUTION_RUNNER["OPTIONS"] = {key: value for key, value in _kubernetes.items() if value is not None}
# --- end: kubernetes runner options -----------------------------------------------------------
DEFAULT_RUNTIME = env_str("DEFAULT_RUNTIME")

EXECUTOR_EMBEDDED = env_bool("EXECUTOR_EMBEDDED", True)
EXECUTOR_CONCURRENCY = env_int("EXECUTOR_CONCURRENCY", os.cpu_count() or 1, minimum=1)
EXECUTION_LEASE_SECONDS = env_float("EXECUTION_LEASE_SECONDS", 30.0, minimum=1.0)
EXECUTOR_GRACE_SECONDS = env_float("EXECUTOR_GRACE_SECONDS", 15.0, minimum=0.0)
EXECUTION_MAX_ATTEMPTS = env_int("EXECUTION_MAX_ATTEMPTS", 2, minimum=1)

# --- accounts: allauth, email, API JWTs (accounts/ENV.md) --------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
if ACCOUNT_EMAIL_VERIFICATION not in ("mandatory", "optional", "none"):
    raise ConfigError(f"ACCOUNT_EMAIL_VERIFICATION={ACCOUNT_EMAIL_VERIFICATION!r} must be mandatory, optional or none")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Integr8sCode] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if HTTPS else "http"
# Cache-backed (so shared between processes when REDIS_URL is set); allauth's syntax.
ACCOUNT_RATE_LIMITS = {
    "login": env_str("ACCOUNT_RATE_LIMIT_LOGIN", "30/m/ip"),
    "login_failed": env_str("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", "10/m/ip,5/300s/key"),
    "signup": env_str("ACCOUNT_RATE_LIMIT_SIGNUP", "20/m/ip"),
}

_email_host = env_str("EMAIL_HOST")
if _email_host:
    _email_port = env_int("EMAIL_PORT", 587, minimum=1)
    _mailer = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": _email_host,
            "port": _email_port,
            "username": env_str("EMAIL_HOST_USER"),
            "password": env_secret("EMAIL_HOST_PASSWORD"),
            "use_tls": env_bool("EMAIL_USE_TLS", _email_port == 587),
            "use_ssl": env_bool("EMAIL_USE_SSL", _email_port == 465),
            "timeout": env_int("EMAIL_TIMEOUT", 10, minimum=1),
        },
    }
else:  # verification and reset links appear in the server's output
    _mailer = {"BACKEND": "accounts.console_email.ReadableEmailBackend"}
MAILERS = {"default": _mailer}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Integr8sCode <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL


def _jwt_private_key() -> str:
    # Env files often carry a PEM on one line with literal "\n".
    key = env_secret("HEADLESS_JWT_PRIVATE_KEY").replace("\\n", "\n")
    if key:
        return key
    if not EMBEDDED:
        raise ConfigError(
            "HEADLESS_JWT_PRIVATE_KEY (or HEADLESS_JWT_PRIVATE_KEY_FILE) must be set "
            "when MONGODB_URL is set (production)"
        )
    return keys.read(VAR_DIR, keys.JWT_KEY_FILE) or keys.rsa_private_key_pem()  # see _secret_key


# API tokens: allauth headless "app" client with JWTs (obtain at /_allauth/app/v1/auth/login,
# refresh at .../tokens/refresh, revoke with DELETE .../auth/session).
HEADLESS_CLIENTS = ("app",)
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.strategy.JWTTokenStrategy"
HEADLESS_JWT_ALGORITHM = "RS256"
HEADLESS_JWT_PRIVATE_KEY = _jwt_private_key()
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = env_int("HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN", 300, minimum=10)
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = env_int("HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN", 86400, minimum=60)
# Each access token is checked against its session, so logging out, a ban or ending the
# session in "Sessions" revokes it at once rather than when it expires.
HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED = True
HEADLESS_SERVE_SPECIFICATION = True

# --- end accounts -----------------------------------------------------------------------

# --- quotas (executions/quotas.py; 0 turns a quota off) ---------------------------------


def _anonymous_cap(name: str, env_name: str, default, read, minimum=1):
    """Anonymous callers' cap for one limit: lower than or equal to everyone's cap."""
    cap = EXECUTION_LIMITS[name]
    value = read(f"QUOTA_ANON_LIMIT_{env_name}", min(default, cap), minimum=minimum)
    if value > cap:
        raise ConfigError(f"QUOTA_ANON_LIMIT_{env_name}={value} must not exceed LIMIT_{env_name}={cap}")
    return value


ANONYMOUS_INTERACTIVE_WALL_SECONDS = env_float(
    "QUOTA_ANON_LIMIT_INTERACTIVE_WALL_SECONDS", min(120.0, INTERACTIVE_WALL_SECONDS), minimum=1.0
)
if ANONYMOUS_INTERACTIVE_WALL_SECONDS > INTERACTIVE_WALL_SECONDS:
    raise ConfigError("QUOTA_ANON_LIMIT_INTERACTIVE_WALL_SECONDS must not exceed LIMIT_INTERACTIVE_WALL_SECONDS")

ANONYMOUS_EXECUTION_LIMITS = {
    "wall_seconds": _anonymous_cap("wall_seconds", "WALL_SECONDS", 5.0, env_float),
    "cpu_seconds": _anonymous_cap("cpu_seconds", "CPU_SECONDS", 5, env_int),
    "memory_mb": _anonymous_cap("memory_mb", "MEMORY_MB", 64, env_int, minimum=16),  # as LIMIT_MEMORY_MB
    "processes": _anonymous_cap("processes", "PROCESSES", 32, env_int),
    "disk_mb": _anonymous_cap("disk_mb", "DISK_MB", 8, env_int),
    "output_bytes": _anonymous_cap("output_bytes", "OUTPUT_BYTES", 256 * 1024, env_int),
}


# Runtimes that need more than a hello: their caps where they differ from the ones above. A
# pandas + matplotlib script takes about 90 MiB and 0.8 s of CPU before it does anything.
def _runtime_caps(prefix: str, *, memory_mb: int, wall_seconds: float, cpu_seconds: int, disk_mb: int) -> dict:
    return {
        "memory_mb": env_int(f"{prefix}_MEMORY_MB", memory_mb, minimum=64),
        "wall_seconds": env_float(f"{prefix}_WALL_SECONDS", wall_seconds, minimum=1.0),
        "cpu_seconds": env_int(f"{prefix}_CPU_SECONDS", cpu_seconds, minimum=1),
        "disk_mb": env_int(f"{prefix}_DISK_MB", disk_mb, minimum=1),
    }


RUNTIME_EXECUTION_LIMITS = {
    DATA_RUNTIME: _runtime_caps("DATA_LIMIT", memory_mb=512, wall_seconds=30.0, cpu_seconds=30, disk_mb=64),
}
ANONYMOUS_RUNTIME_EXECUTION_LIMITS = {
    DATA_RUNTIME: _runtime_caps("DATA_QUOTA_ANON_LIMIT", memory_mb=256, wall_seconds=20.0, cpu_seconds=15, disk_mb=32),
}
for _name, _anonymous in ANONYMOUS_RUNTIME_EXECUTION_LIMITS[DATA_RUNTIME].items():
    if _anonymous > RUNTIME_EXECUTION_LIMITS[DATA_RUNTIME][_name]:
        raise ConfigError(f"The data runtime's anonymous cap for {_name} ({_anonymous}) must not exceed its cap")

# Files in (given with a submission) and out (what a run leaves in its working directory).
# On Kubernetes the given files travel in the run's ConfigMap with its script and stdin, and a
# ConfigMap holds at most 1 MiB (16 KiB are left for the list of the files).
_FILES_IN_MOST = (
    (1 << 20) - SCRIPT_MAX_BYTES - STDIN_MAX_BYTES - (16 << 10)
    if EXECUTION_RUNNER["BACKEND"] == _RUNNERS["kubernetes"]
    else 8 << 20
)
INPUT_FILE_CAPS = {
    "count": env_int("FILES_IN_MAX_COUNT", 20, minimum=0),
    "total_bytes": env_int("FILES_IN_MAX_BYTES", min(1 << 20, _FILES_IN_MOST), minimum=0, maximum=_FILES_IN_MOST),
}
ANONYMOUS_INPUT_FILE_CAPS = {
    "count": env_int("QUOTA_ANON_FILES_IN_MAX_COUNT", min(10, INPUT_FILE_CAPS["count"]), minimum=0),
    "total_bytes": env_int("QUOTA_ANON_FILES_IN_MAX_BYTES", min(256 << 10, INPUT_FILE_CAPS["total_bytes"]), minimum=0),
}
OUTPUT_FILE_CAPS = {
    "count": env_int("FILES_OUT_MAX_COUNT", 20, minimum=0),
    "total_bytes": env_int("FILES_OUT_MAX_BYTES", 8 << 20, minimum=0),
    "file_bytes": env_int("FILES_OUT_MAX_FILE_BYTES", 4 << 20, minimum=0),
}
ANONYMOUS_OUTPUT_FILE_CAPS = {
    "count": env_int("QUOTA_ANON_FILES_OUT_MAX_COUNT", min(10, OUTPUT_FILE_CAPS["count"]), minimum=0),
    "total_bytes": env_int("QUOTA_ANON_FILES_OUT_MAX_BYTES", min(2 << 20, OUTPUT_FILE_CAPS["total_bytes"]), minimum=0),
    "file_bytes": env_int(
        "QUOTA_ANON_FILES_OUT_MAX_FILE_BYTES", min(1 << 20, OUTPUT_FILE_CAPS["file_bytes"]), minimum=0
    ),
}
for _caps, _anonymous_caps in (
    (INPUT_FILE_CAPS, ANONYMOUS_INPUT_FILE_CAPS),
    (OUTPUT_FILE_CAPS, ANONYMOUS_OUTPUT_FILE_CAPS),
):
    for _name, _value in _anonymous_caps.items():
        if _value > _caps[_name]:
            raise ConfigError(f"An anonymous file cap ({_name}={_value}) must not exceed everyone's ({_caps[_name]})")

# The Kubernetes runner's warm pool (KUBERNETES_POOL="python3.13=2,..."): per runtime, this many
# idle pods for each of the two shapes runs take by default, signed-in and anonymous (their
# caps; a run asking for less memory, disk or output takes a cold pod).
if EXECUTION_RUNNER["BACKEND"] == _RUNNERS["kubernetes"] and env_str("KUBERNETES_POOL"):
    _pool_sizes = _pairs("KUBERNETES_POOL") or {}
    try:
        _pool_sizes = {runtime: int(count) for runtime, count in _pool_sizes.items()}
    except ValueError:
        raise ConfigError("KUBERNETES_POOL must be runtime=count pairs, e.g. python3.13=2") from None
    EXECUTION_RUNNER["OPTIONS"]["pool"] = [
        {
            "runtime": runtime,
            "idle": count,
            "limits": limits | runtime_limits.get(runtime, {}),
            "file_caps": file_caps,
        }
        for runtime, count in _pool_sizes.items()
        if count > 0
        for limits, runtime_limits, file_caps in (
            (EXECUTION_LIMITS, RUNTIME_EXECUTION_LIMITS, OUTPUT_FILE_CAPS),
            (ANONYMOUS_EXECUTION_LIMITS, ANONYMOUS_RUNTIME_EXECUTION_LIMITS, ANONYMOUS_OUTPUT_FILE_CAPS),
        )
    ]
    EXECUTION_RUNNER["OPTIONS"]["pool_ttl"] = env_float("KUBERNETES_POOL_TTL", 600.0, minimum=10.0)

QUOTAS = {
    "anonymous": {  # per client IP address (per /64 for IPv6)
        "submissions_per_minute": env_int("QUOTA_ANON_SUBMISSIONS_PER_MINUTE", 10, minimum=0),
        "concurrent_executions": env_int("QUOTA_ANON_CONCURRENT_EXECUTIONS", 2, minimum=0),
        "cpu_seconds_per_day": env_int("QUOTA_ANON_CPU_SECONDS_PER_DAY", 300, minimum=0),
        "interactive_sessions": env_int("QUOTA_ANON_INTERACTIVE_SESSIONS", 1, minimum=0),
    },
    "user": {  # per signed-in user; admins override them per user
        "submissions_per_minute": env_int("QUOTA_USER_SUBMISSIONS_PER_MINUTE", 30, minimum=0),
        "concurrent_executions": env_int("QUOTA_USER_CONCURRENT_EXECUTIONS", 4, minimum=0),
        "cpu_seconds_per_day": env_int("QUOTA_USER_CPU_SECONDS_PER_DAY", 3600, minimum=0),
        "interactive_sessions": env_int("QUOTA_USER_INTERACTIVE_SESSIONS", 2, minimum=0),
    },
}

# --- end quotas -------------------------------------------------------------------------

# --- observability ------------------------------------------------------------------------

METRICS_TOKEN = env_secret("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"] if EMBEDDED else [])
EXECUTOR_METRICS_PORT = env_int("EXECUTOR_METRICS_PORT", 0, minimum=0)
# Where `manage.py executor` keeps its probe files (alive, ready) for exec probes; "": none.
EXECUTOR_PROBE_DIR = env_str("EXECUTOR_PROBE_DIR")
EXECUTOR_PROBE_INTERVAL_SECONDS = env_float("EXECUTOR_PROBE_INTERVAL_SECONDS", 10.0, minimum=0.1)
PROMETHEUS_METRIC_NAMESPACE = ""

# --- logging ----------------------------------------------------------------------------

LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ConfigError(f"LOG_FORMAT={LOG_FORMAT!r} must be text or json")
LOGGING_CONFIG = "logging.config.dictConfig"
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO").upper())

# Set by the test suite to keep its executions apart when MONGODB_URL points at a real server.
MONGODB_DB = env_str("MONGODB_DB")
