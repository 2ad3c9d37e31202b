"""HTTP and WebSocket entry point, served by Daphne. Importing it starts nothing: the embedded
store and the dispatcher are started by the process that serves (integr8scode.serve)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integr8scode.settings")

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.websocket_auth import TokenOrSession  # noqa: E402
from executions.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": TokenOrSession(URLRouter(websocket_urlpatterns)),
    }
)
