"""The site's own account page: how to call the API with a token, and the caller's quotas."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from executions import quotas
from executions.caller import Caller

QUOTA_LABELS = {
    "submissions_per_minute": "Submissions this minute",
    "concurrent_executions": "Queued or running now",
    "cpu_seconds_per_day": "CPU-seconds today",
    "interactive_sessions": "Interactive sessions open",
}


@login_required
@require_safe
def api_access(request: HttpRequest) -> HttpResponse:
    usage = quotas.quota_usage(subject=Caller.of_request(request).quota_subject) or {}
    context = {
        "origin": request.build_absolute_uri("/").rstrip("/"),
        "endpoints": {
            "login": reverse("headless:app:account:login"),
            "refresh": reverse("headless:app:tokens:refresh"),
            "session": reverse("headless:app:account:current_session"),
            "executions": reverse("api:execution_create"),
            "scripts": reverse("api:script_list"),
        },
        "quotas": [(QUOTA_LABELS[name], used, limit) for name, (used, limit) in usage.items()],
    }
    return render(request, "accounts/api_access.html", context)
