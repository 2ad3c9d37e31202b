from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("api/", views.api_access, name="api_access"),
]
