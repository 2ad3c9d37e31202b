from django.http import HttpRequest, JsonResponse
from django.views import defaults

API_PREFIXES = ("/api/", "/execute", "/result/")
NOT_FOUND = "Nothing here: {path}"


def not_found(request: HttpRequest, exception=None):
    """JSON for API clients, the site's page for people."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": NOT_FOUND.format(path=request.path[:200])}, status=404)
    return defaults.page_not_found(request, exception)
