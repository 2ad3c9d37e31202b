from django.urls import path
from django.views.generic import RedirectView

from executions import views

app_name = "executions"

urlpatterns = [
    path("", views.editor, name="editor"),
    path("executions/<str:execution_id>/", views.execution_detail, name="detail"),
    path("history/", views.execution_history, name="history"),
    # Where people guess their history is (an execution's own page is under it).
    path("executions/", RedirectView.as_view(pattern_name="executions:history", query_string=True)),
]
