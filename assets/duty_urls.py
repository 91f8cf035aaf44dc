from django.urls import path

from . import duty_views

urlpatterns = [
    path("duties/", duty_views.DutyListView.as_view(), name="duties"),
    path("mlps-coverage/", duty_views.CoverageView.as_view(), name="mlps_coverage"),
]
