from django.urls import path

from core.registry import registry

from . import views

app_name = "orgs"

urlpatterns = [
    path("units/<int:pk>/move/", views.UnitMoveView.as_view(), name="unit_move"),
    path("users/<int:pk>/roles/", views.UserRolesView.as_view(), name="user_roles"),
    path("users/<int:pk>/password/", views.UserSetPasswordView.as_view(), name="user_set_password"),
    *registry.urlpatterns("orgs"),
]
