from core.registry import registry

from . import views

app_name = "notices"

urlpatterns = [
    *views.notice_urlpatterns(),
    *registry.urlpatterns("notices"),
]
