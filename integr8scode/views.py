from django.http import HttpRequest, JsonResponse
from django.views import defaults

ALLAUTH_API_PREFIX = "/_allauth/"  # allauth's headless API: sign-in and tokens, JSON only
API_PREFIXES = ("/api/", "/execute", "/result/", ALLAUTH_API_PREFIX)
NOT_FOUND = "Nothing here: {path}"


def not_found(request: HttpRequest, exception=None):
    """JSON for API clients, the site's page for people."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": NOT_FOUND.format(path=request.path[:200])}, status=404)
    return defaults.page_not_found(request, exception)
