from django.urls import path

from scripts import views as script_views

urlpatterns = [
    path("scripts/", script_views.script_list, name="script_list"),
    path("scripts/public/", script_views.script_list_public, name="script_list_public"),
    path("scripts/new/", script_views.script_new, name="script_new"),
    path("scripts/<str:key>/", script_views.script_detail, name="script_detail"),
    path("scripts/<str:key>/edit/", script_views.script_edit, name="script_edit"),
    path("scripts/<str:key>/delete/", script_views.script_delete, name="script_delete"),
    path("scripts/<str:key>/run/", script_views.script_run, name="script_run"),
    path("scripts/<str:key>/fork/", script_views.script_fork, name="script_fork"),
]
