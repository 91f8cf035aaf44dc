"""Registering a model gives it the whole platform: list/detail/edit/delete/bulk/import/export pages, a REST endpoint,
menu entry, role permissions and audit logging. Domain apps call ``register`` from their ``registrations.py``.

Example::

    register(ModelConfig(
        model=Person, form=PersonForm, filterset=PersonFilterSet, table=PersonTable,
        serializer=PersonSerializer, import_fields=["unit", "name", "phone"], menu_group=MenuGroup.ORGS,
    ))
"""

from dataclasses import dataclass, field

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .roles import DEFAULT_MATRIX, ROLES


class MenuGroup:
    """Navigation areas in product order; a group appears only when something is registered in it."""

    ORGS = ("orgs", _("Units and people"), "ti-building-community")
    ASSETS = ("assets", _("Assets"), "ti-server")
    MONITORING = ("monitoring", _("Monitoring"), "ti-activity")
    FINDINGS = ("findings", _("Findings"), "ti-bug")
    NOTICES = ("notices", _("Notices"), "ti-speakerphone")
    SYSTEM = ("system", _("System"), "ti-settings")

    ORDER = ["orgs", "assets", "monitoring", "findings", "notices", "system"]


@dataclass
class ModelConfig:
    model: type
    form: type | None = None
    filterset: type | None = None
    table: type | None = None
    serializer: type | None = None
    # Form fields offered by bulk edit (each optional; only filled ones are applied).
    bulk_edit_fields: list[str] = field(default_factory=list)
    # Form fields filled by the XLSX template's columns, in column order. Empty: no import.
    import_fields: list[str] = field(default_factory=list)
    # Columns of the XLSX/CSV export; defaults to the import columns plus the ID.
    export_fields: list[str] = field(default_factory=list)
    menu_group: tuple = MenuGroup.ORGS
    menu_label: str | None = None
    menu_icon: str = "ti-list"
    in_menu: bool = True
    url_prefix: str | None = None  # e.g. "units"; defaults to the model name plural
    roles: dict[str, str] | None = None  # role code → "view add change delete"; None: DEFAULT_MATRIX
    detail_template: str = "core/object_detail.html"
    # Extra context for the detail page: callable(request, obj) -> dict.
    detail_context: object = None
    # Joins for list pages, exports and the API (avoid one query per row).
    select_related: tuple = ()
    prefetch_related: tuple = ()
    detail_fields: list[str] | None = None
    api_prefix: str | None = None
    # A RestrictedModelViewSet subclass with extra API actions (e.g. workflow steps); None: plain CRUD.
    api_viewset: type | None = None
    # Actions other apps add to this model's pages (an app above may act on rows of an app below without the lower
    # app knowing it, e.g. notices drafts a notice from selected findings): see ``ExtraAction``.
    list_actions: list = field(default_factory=list)
    object_actions: list = field(default_factory=list)
    # Panels other apps add to the detail page: callables (request, obj) -> HTML or None (e.g. the notices timeline of
    # a finding or a unit).
    detail_panels: list = field(default_factory=list)

    @property
    def app_label(self) -> str:
        return self.model._meta.app_label

    @property
    def model_name(self) -> str:
        return self.model._meta.model_name

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def verbose_name(self):
        return self.model._meta.verbose_name

    @property
    def verbose_name_plural(self):
        return self.menu_label or self.model._meta.verbose_name_plural

    def role_matrix(self) -> dict[str, str]:
        matrix = self.roles if self.roles is not None else DEFAULT_MATRIX
        unknown = set(matrix) - set(ROLES)
        if unknown:
            raise ValueError(f"{self.label}: unknown roles {sorted(unknown)}")
        return matrix

    def get_export_fields(self) -> list[str]:
        return self.export_fields or ["id", *self.import_fields]

    def url_name(self, view: str) -> str:
        suffix = "" if view == "detail" else f"_{view}"
        return f"{self.app_label}:{self.model_name}{suffix}"

    def url(self, view: str, obj=None) -> str:
        if obj is not None:
            return reverse(self.url_name(view), kwargs={"pk": obj.pk})
        return reverse(self.url_name(view))

    def urlpatterns(self):
        from .views import generic

        prefix = self.url_prefix or f"{self.model_name}s"
        name = self.model_name
        return [
            path(f"{prefix}/", generic.ObjectListView.as_view(config=self), name=f"{name}_list"),
            path(f"{prefix}/add/", generic.ObjectEditView.as_view(config=self), name=f"{name}_add"),
            path(f"{prefix}/import/", generic.ObjectImportView.as_view(config=self), name=f"{name}_import"),
            path(
                f"{prefix}/import/template/",
                generic.ImportTemplateView.as_view(config=self),
                name=f"{name}_import_template",
            ),
            path(f"{prefix}/bulk-edit/", generic.BulkEditView.as_view(config=self), name=f"{name}_bulk_edit"),
            path(f"{prefix}/bulk-delete/", generic.BulkDeleteView.as_view(config=self), name=f"{name}_bulk_delete"),
            path(f"{prefix}/<int:pk>/", generic.ObjectView.as_view(config=self), name=name),
            path(f"{prefix}/<int:pk>/edit/", generic.ObjectEditView.as_view(config=self), name=f"{name}_edit"),
            path(f"{prefix}/<int:pk>/delete/", generic.ObjectDeleteView.as_view(config=self), name=f"{name}_delete"),
        ]


@dataclass
class ExtraAction:
    """A button added to a registered model's list (submits the selected rows' ``pk`` to ``url_name``) or detail page
    (a link to ``url_name`` with ``query(obj)`` appended). Shown to holders of ``permission`` when ``applies(obj)``."""

    label: str
    url_name: str
    permission: str
    icon: str = "ti-player-play"
    query: object = None  # callable(obj) -> dict, for object actions
    applies: object = None  # callable(obj) -> bool, for object actions

    def url(self, obj=None) -> str:
        from urllib.parse import urlencode

        base = reverse(self.url_name)
        if obj is None or self.query is None:
            return base
        return f"{base}?{urlencode(self.query(obj), doseq=True)}"


def actions_for(user, actions, obj=None) -> list[dict]:
    """The actions ``user`` may take (on ``obj``), as {label, icon, url} for the templates."""
    shown = []
    for action in actions:
        if not user.has_perm(action.permission):
            continue
        if obj is not None and action.applies is not None and not action.applies(obj):
            continue
        shown.append({"label": action.label, "icon": action.icon, "url": action.url(obj)})
    return shown


class Registry:
    def __init__(self):
        self._configs: dict[str, ModelConfig] = {}

    def register(self, config: ModelConfig) -> ModelConfig:
        self._configs[config.label] = config
        from .signals import connect_model_audit

        connect_model_audit(config.model)
        return config

    def all(self) -> list[ModelConfig]:
        return list(self._configs.values())

    def for_app(self, app_label: str) -> list[ModelConfig]:
        return [c for c in self._configs.values() if c.app_label == app_label]

    def get(self, model_or_label) -> ModelConfig:
        label = model_or_label if isinstance(model_or_label, str) else model_or_label._meta.label_lower
        return self._configs[label]

    def get_or_none(self, model_or_label):
        try:
            return self.get(model_or_label)
        except KeyError:
            return None

    def urlpatterns(self, app_label: str):
        patterns = []
        for config in self.for_app(app_label):
            patterns += config.urlpatterns()
        return patterns


registry = Registry()
register = registry.register


def object_url(obj) -> str:
    config = registry.get_or_none(obj)
    return config.url("detail", obj) if config is not None else ""


# Home-page panels: callables (request) -> (template_name, context) or None, registered by domain apps.
home_panels: list = []


def register_home_panel(panel):
    if panel not in home_panels:
        home_panels.append(panel)
    return panel


# Menu entries for pages that are not a registered model's list (dashboards, reports), added by domain apps.
menu_items: list[dict] = []


def register_menu_item(group, label, url_name: str, permission: str, icon: str = "ti-list"):
    """Show ``url_name`` in ``group`` (a MenuGroup tuple) to users holding ``permission``."""
    item = {"group": group, "label": label, "url_name": url_name, "permission": permission, "icon": icon}
    if all(existing["url_name"] != url_name for existing in menu_items):
        menu_items.append(item)


# Demo-data loaders of domain apps, run by ``edusec load_demo`` after the demo region's units and people exist.
# Each is idempotent and returns a dict of counts (or None when its data was already there).
demo_loaders: list = []


def register_demo_loader(loader):
    if loader not in demo_loaders:
        demo_loaders.append(loader)
    return loader
