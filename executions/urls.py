from django.conf import settings
from django.urls import path

from executions import views

app_name = "executions"

urlpatterns = [
    path("", views.editor, name="editor"),
    path("executions/<str:execution_id>/", views.execution_detail, name="detail"),
]

# Static files are served by the app itself unless STATIC_URL points at another host (a CDN).
if settings.STATIC_URL.startswith("/"):
    urlpatterns.append(path(f"{settings.STATIC_URL.strip('/')}/<path:path>", views.static_file, name="static"))
