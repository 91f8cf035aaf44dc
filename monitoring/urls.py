from django.urls import path

from core.registry import registry

from . import views

app_name = "monitoring"


def _registered():
    """The registry's generic pages, with the keyword list showing the default library as well."""
    patterns = []
    for pattern in registry.urlpatterns("monitoring"):
        if pattern.name == "keywordentry_list":
            config = registry.get("monitoring.keywordentry")
            pattern = path(str(pattern.pattern), views.KeywordListView.as_view(config=config), name=pattern.name)
        patterns.append(pattern)
    return patterns


urlpatterns = [
    path("", views.BoardView.as_view(), name="board"),
    path("sites/<int:website_id>/", views.SiteView.as_view(), name="site"),
    path("sites/<int:website_id>/probe/", views.SiteProbeView.as_view(), name="site_probe"),
    path("sites/<int:website_id>/accept-baseline/", views.SiteBaselineView.as_view(), name="site_accept_baseline"),
    path("events/<int:pk>/evidence/", views.EvidenceView.as_view(), name="evidence"),
    *_registered(),
]
