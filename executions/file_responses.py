"""How a file a run made is served from our origin without ever running: user content, so
only plain images are shown inline; everything else (HTML and SVG included) is a download,
and the browser is told not to guess types and to sandbox whatever it opens anyway."""

from django.http import HttpResponse
from django.utils.http import content_disposition_header

INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Types a browser would run, or render as a document, if it ever displayed them.
ACTIVE_TYPES = ("text/html", "application/xhtml", "image/svg", "text/xml", "application/xml", "text/javascript")
DOWNLOAD_TYPE = "application/octet-stream"
SANDBOX_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def file_response(*, name: str, content_type: str, data: bytes) -> HttpResponse:
    inline = content_type in INLINE_TYPES
    if content_type.startswith(ACTIVE_TYPES) or "script" in content_type:
        content_type = DOWNLOAD_TYPE
    elif content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(not inline, name.rpartition("/")[2])
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_POLICY
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-cache"  # gone with its execution: ask again each time
    return response
