from django.urls import path

from core.registry import registry

from . import template_views, views

app_name = "findings"

urlpatterns = [
    path("imports/upload/", views.ScanUploadView.as_view(), name="scan_upload"),
    path("imports/template/generic.xlsx", template_views.generic_template, name="generic_template"),
    path("imports/template/upstream.xlsx", template_views.upstream_template, name="upstream_template"),
    *views.workflow_urlpatterns(),
    *registry.urlpatterns("findings"),
]
