from django.urls import include, path

from core.registry import registry

app_name = "assets"

urlpatterns = [
    path("", include("assets.mlps_urls")),
    path("", include("assets.duty_urls")),
    *registry.urlpatterns("assets"),
]
