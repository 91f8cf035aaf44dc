"""Monitoring API paths that are not a registered model's endpoint (the router in ``edusec/api_urls.py`` builds
those). Included under ``/api/monitoring/`` by ``edusec/api_urls.py``."""

from django.urls import path

from .views import BoardView

urlpatterns = [
    path("board/", BoardView.as_view(), name="api_monitoring_board"),
]
