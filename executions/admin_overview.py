"""The admin's overview page: queue, running, the last hour's outcomes and durations."""

from django.contrib import admin
from django.template.response import TemplateResponse

from executions.overview import WINDOW, executions_overview

REFRESH_SECONDS = 10


def overview(request):
    context = {
        **admin.site.each_context(request),
        "title": "Executions overview",
        "overview": executions_overview(),
        "window_minutes": int(WINDOW.total_seconds() // 60),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return TemplateResponse(request, "admin/executions/overview.html", context)
