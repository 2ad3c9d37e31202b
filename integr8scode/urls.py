from django.contrib import admin
from django.urls import include, path

from executions import admin_overview
from integr8scode import health, views
from integr8scode.api import api
from integr8scode.metrics_view import metrics

urlpatterns = [
    path("admin/overview/", admin.site.admin_view(admin_overview.overview), name="admin-executions-overview"),
    path("admin/", admin.site.urls),
    # accounts: the site's account pages, allauth's pages, and its headless API (JWTs).
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("", include("scripts.urls")),
    # Before the API, whose router also answers at the root.
    path("", include("executions.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("", api.urls),
]

handler404 = views.not_found
