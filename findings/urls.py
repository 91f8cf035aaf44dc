from django.urls import path

from core.registry import registry

from . import views

app_name = "findings"

urlpatterns = [
    path("imports/upload/", views.ScanUploadView.as_view(), name="scan_upload"),
    *registry.urlpatterns("findings"),
]
