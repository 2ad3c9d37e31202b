from django.contrib import admin
from django.urls import path

from integr8scode import views
from integr8scode.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", api.urls),
]

handler404 = views.not_found
