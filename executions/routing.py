from django.urls import path

from executions.consumers import ExecutionConsumer, SubmitConsumer

websocket_urlpatterns = [
    path("ws/executions/", SubmitConsumer.as_asgi()),
    path("ws/executions/<str:execution_id>/", ExecutionConsumer.as_asgi()),
]
