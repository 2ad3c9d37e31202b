from django.urls import path

from executions import views

app_name = "executions"

urlpatterns = [
    path("", views.editor, name="editor"),
    path("executions/<str:execution_id>/", views.execution_detail, name="detail"),
    path("history/", views.execution_history, name="history"),
]
