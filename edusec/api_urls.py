"""One REST router for every registered model: /api/<app>/<prefix>/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from core.api.auth import ObtainTokenView
from core.api.views import viewset_for
from core.registry import registry


def build_router():
    router = DefaultRouter()
    for config in registry.all():
        if config.serializer is None:
            continue
        prefix = config.api_prefix or f"{config.app_label}/{config.url_prefix or config.model_name + 's'}"
        router.register(prefix, viewset_for(config), basename=f"{config.app_label}-{config.model_name}")
    return router


urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api_token"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("monitoring/", include("monitoring.api.urls")),
    path("", include(build_router().urls)),
]
