"""URLs of the MLPS lifecycle, included first in ``assets.urls`` so that the grading page and the wizard's edit page
take the places of the generic ``gradings/<pk>/`` and ``gradings/<pk>/edit/`` pages (same URL names)."""

from django.urls import path

from . import mlps_views as views

urlpatterns = [
    path("systems/<int:system_pk>/grading/", views.SystemMLPSView.as_view(), name="system_mlps"),
    path("systems/<int:system_pk>/grading/new/", views.GradingWizardView.as_view(), name="grading_wizard"),
    path("systems/<int:system_pk>/grading/preview/", views.GradingPreviewView.as_view(), name="grading_preview"),
    path("gradings/<int:pk>/", views.GradingDetailView.as_view(), name="grading"),
    path("gradings/<int:pk>/edit/", views.GradingWizardView.as_view(), name="grading_edit"),
    path("gradings/<int:pk>/report.docx", views.GradingReportDocxView.as_view(), name="grading_report_docx"),
    path("gradings/<int:pk>/<slug:action>/", views.GradingActionView.as_view(), name="grading_action"),
]
