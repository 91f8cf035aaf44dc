"""Ledger models: information systems and the assets that belong to them.

Every row here but ``BusinessType`` is unit-owned (``core.models.UnitOwned``): pages, API, imports and exports reach it
only through ``objects.restrict(user, action)``. The rules live in ``clean()`` so that forms, the API and XLSX imports
enforce them alike; values derived from others (a website's host, an IP range's bounds) are also recomputed in
``save()`` so that no write path can store them stale.
"""

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.idn import ascii_host, unicode_host, unicode_url
from core.models import UnitOwned
from core.scoping import RestrictedManager

__all__ = [
    "BusinessType",
    "ChildSafeguardState",
    "ContentControl",
    "DataLevel",
    "Deployment",
    "Domain",
    "InformationSystem",
    "IPRange",
    "IPv6Support",
    "LifecycleStatus",
    "Localization",
    "MLPS_LEVEL_CHOICES",
    "MobileApp",
    "MobileAppKind",
    "Screen",
    "UserFilingState",
    "Website",
]


def _object_url(obj) -> str:
    from core.registry import object_url

    return object_url(obj)


def _check_unit_chain(errors: dict, field: str, owner_unit, related, message) -> None:
    """``related`` (a person, a system) must belong to ``owner_unit`` or to a unit above it."""
    if related is None or owner_unit is None:
        return
    if not owner_unit.path.startswith(related.unit.path):
        errors[field] = message


# ---- reference data -------------------------------------------------------------------------------------------------


class BusinessType(models.Model):
    """Editable reference list of business types (门户网站, 教学, 管理…), shared by the whole installation."""

    code = models.SlugField(
        _("code"), max_length=32, unique=True, help_text=_("Short Latin code used in spreadsheets and the API")
    )
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive types are not offered for new systems")
    )

    objects = RestrictedManager()
    scope_path_field = None  # global reference data: restrict() checks the permission only
    import_key = "code"  # spreadsheets name a business type by its code

    class Meta:
        verbose_name = _("business type")
        verbose_name_plural = _("business types")
        ordering = ["order", "code"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return _object_url(self)


# ---- information systems --------------------------------------------------------------------------------------------


DEFAULT_BUSINESS_TYPES = [
    ("portal", "门户网站"),
    ("teaching", "教学"),
    ("management", "管理"),
    ("admission_exam", "招生考试"),
    ("campus_card", "校园一卡通"),
    ("security_video", "安防视频"),
    ("office", "办公"),
    ("data_platform", "数据平台"),
    ("other", "其他"),
]


def seed_default_business_types(using="default", **kwargs):
    """Give an empty business-type list its defaults (after migrate, and after a test flush emptied the table).

    Only an empty table is seeded, so types a bureau deleted on purpose stay deleted.
    """
    manager = BusinessType.objects.using(using)
    if not manager.exists():
        manager.bulk_create(
            [
                BusinessType(code=code, name=name, order=order * 10)
                for order, (code, name) in enumerate(DEFAULT_BUSINESS_TYPES, start=1)
            ]
        )


class Deployment(models.TextChoices):
    ON_PREMISES = "on_premises", _("On premises")
    GOVERNMENT_CLOUD = "government_cloud", _("Government cloud")
    PUBLIC_CLOUD = "public_cloud", _("Public cloud")
    PROVIDER_HOSTED = "provider_hosted", _("Hosted by the provider")


class LifecycleStatus(models.TextChoices):
    BUILDING = "building", _("Under construction")
    RUNNING = "running", _("Running")
    STOPPED = "stopped", _("Stopped")
    RETIRED = "retired", _("Retired")


class Localization(models.TextChoices):
    """国产化 (domestic substitution) of one layer, or of the whole system."""

    NONE = "none", _("Not localized")
    PARTIAL = "partial", _("Partly localized")
    COMPLETE = "complete", _("Fully localized")


class IPv6Support(models.TextChoices):
    NONE = "none", _("No IPv6")
    PARTIAL = "partial", _("Partial IPv6")
    FULL = "full", _("Full IPv6")


class DataLevel(models.TextChoices):
    """Highest level of data the system holds (GB/T 43697-2024); blank means not yet classified."""

    CORE = "core", _("Core data")
    IMPORTANT = "important", _("Important data")
    GENERAL1 = "general1", _("General data, level 1")
    GENERAL2 = "general2", _("General data, level 2")
    GENERAL3 = "general3", _("General data, level 3")
    GENERAL4 = "general4", _("General data, level 4")


class ChildSafeguardState(models.TextChoices):
    MISSING = "missing", _("Missing")
    PARTIAL = "partial", _("Partly in place")
    DONE = "done", _("In place")


MLPS_LEVEL_CHOICES = [
    (1, _("Level 1")),
    (2, _("Level 2")),
    (3, _("Level 3")),
    (4, _("Level 4")),
    (5, _("Level 5")),
]

# Lifecycle stage of each status and of each date: a date belongs to a stage the system has reached.
_STATUS_STAGE = {
    LifecycleStatus.BUILDING: 0,
    LifecycleStatus.RUNNING: 1,
    LifecycleStatus.STOPPED: 2,
    LifecycleStatus.RETIRED: 3,
}
_LIFECYCLE_DATES = ("built_on", "went_live_on", "stopped_on", "retired_on")  # in stage order

# Children's personal information safeguards (domain.md §4), in checklist order.
CHILD_SAFEGUARD_FIELDS = (
    "child_guardian_consent",
    "child_processing_rules",
    "child_encrypted_storage",
    "child_access_control",
)


def _safeguard_field(label, help_text):
    return models.CharField(
        label, max_length=10, choices=ChildSafeguardState.choices, blank=True, default="", help_text=help_text
    )


class InformationSystem(UnitOwned):
    """An information system (信息系统) in a unit's ledger: what it does, where it runs, what data it holds."""

    name = models.CharField(_("name"), max_length=200)
    business_type = models.ForeignKey(
        BusinessType,
        on_delete=models.PROTECT,
        related_name="systems",
        verbose_name=_("business type"),
        help_text=_("In spreadsheets: the business type's code"),
    )
    responsible_person = models.ForeignKey(
        "orgs.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="information_systems",
        verbose_name=_("responsible person"),
        help_text=_("A person of this unit or of a unit above it; in spreadsheets: the person's ID"),
    )
    contractor = models.CharField(
        _("operating contractor"), max_length=200, blank=True, help_text=_("Company that builds or operates it")
    )
    deployment = models.CharField(
        _("deployment"), max_length=20, choices=Deployment.choices, default=Deployment.ON_PREMISES
    )
    internet_facing = models.BooleanField(_("internet-facing"), default=False)
    status = models.CharField(
        _("lifecycle status"), max_length=10, choices=LifecycleStatus.choices, default=LifecycleStatus.RUNNING
    )
    built_on = models.DateField(_("construction started on"), null=True, blank=True)
    went_live_on = models.DateField(_("went live on"), null=True, blank=True)
    stopped_on = models.DateField(_("stopped on"), null=True, blank=True)
    retired_on = models.DateField(_("retired on"), null=True, blank=True)
    software = models.CharField(_("software"), max_length=200, blank=True, help_text=_("Product or platform name"))
    version = models.CharField(_("version"), max_length=50, blank=True)
    chip_localization = models.CharField(
        _("localization: chips"), max_length=10, choices=Localization.choices, default=Localization.NONE
    )
    os_localization = models.CharField(
        _("localization: operating system"), max_length=10, choices=Localization.choices, default=Localization.NONE
    )
    db_localization = models.CharField(
        _("localization: database"), max_length=10, choices=Localization.choices, default=Localization.NONE
    )
    middleware_localization = models.CharField(
        _("localization: middleware"), max_length=10, choices=Localization.choices, default=Localization.NONE
    )
    ipv6_support = models.CharField(
        _("IPv6 support"), max_length=10, choices=IPv6Support.choices, default=IPv6Support.NONE
    )
    critical_infrastructure = models.BooleanField(_("critical information infrastructure"), default=False)
    data_level = models.CharField(
        _("highest data level"),
        max_length=10,
        choices=DataLevel.choices,
        blank=True,
        help_text=_("Leave blank while the data is not classified; when in doubt, the higher level"),
    )
    holds_pi = models.BooleanField(_("holds personal information"), default=False)
    holds_sensitive_pi = models.BooleanField(_("holds sensitive personal information"), default=False)
    holds_minor_pi = models.BooleanField(_("holds minors' personal information"), default=False)
    holds_child_pi = models.BooleanField(
        _("holds children's personal information"), default=False, help_text=_("Children under 14")
    )
    child_guardian_consent = _safeguard_field(
        _("separate guardian consent"), _("Only for systems holding children's personal information")
    )
    child_processing_rules = _safeguard_field(
        _("dedicated processing rules"), _("Only for systems holding children's personal information")
    )
    child_encrypted_storage = _safeguard_field(
        _("encrypted storage"), _("Only for systems holding children's personal information")
    )
    child_access_control = _safeguard_field(
        _("approved and logged least-privilege staff access"),
        _("Only for systems holding children's personal information"),
    )
    # Filled by the MLPS workflow (grading and filing records), never by the ledger form.
    mlps_level = models.PositiveSmallIntegerField(
        _("MLPS level"),
        null=True,
        blank=True,
        editable=False,
        choices=MLPS_LEVEL_CHOICES,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    mlps_state = models.CharField(_("MLPS state"), max_length=30, blank=True, editable=False)
    remarks = models.TextField(_("remarks"), blank=True)

    class Meta:
        verbose_name = _("information system")
        verbose_name_plural = _("information systems")
        ordering = ["unit__path", "name"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["mlps_level"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return _object_url(self)

    # derived values ---------------------------------------------------------------------------------------------------

    @property
    def localization_layers(self) -> list[str]:
        return [self.chip_localization, self.os_localization, self.db_localization, self.middleware_localization]

    @property
    def localization_status(self) -> str:
        """none when no layer is localized, complete when every layer is, partial otherwise (not stored)."""
        layers = set(self.localization_layers)
        if layers == {Localization.NONE}:
            return Localization.NONE
        if layers == {Localization.COMPLETE}:
            return Localization.COMPLETE
        return Localization.PARTIAL

    def get_localization_status_display(self) -> str:
        return Localization(self.localization_status).label

    @property
    def child_safeguards(self) -> list[dict]:
        """The children's-PI checklist: one item per safeguard with its state (blank counts as missing)."""
        items = []
        for name in CHILD_SAFEGUARD_FIELDS:
            state = getattr(self, name) or ChildSafeguardState.MISSING
            items.append(
                {
                    "field": name,
                    "label": self._meta.get_field(name).verbose_name,
                    "state": state,
                    "state_label": ChildSafeguardState(state).label,
                }
            )
        return items

    @property
    def child_safeguard_gaps(self) -> int:
        """How many safeguards are not fully in place (0 when the system holds no children's PI)."""
        if not self.holds_child_pi:
            return 0
        return sum(1 for item in self.child_safeguards if item["state"] != ChildSafeguardState.DONE)

    # rules ------------------------------------------------------------------------------------------------------------

    def clean(self):
        errors = {}
        self._clean_lifecycle(errors)
        self._clean_personal_information(errors)
        _check_unit_chain(
            errors,
            "responsible_person",
            self.unit if self.unit_id else None,
            self.responsible_person if self.responsible_person_id else None,
            _("The responsible person must belong to this unit or to one above it"),
        )
        if self.business_type_id and self._state.adding and not self.business_type.is_active:
            errors["business_type"] = _("This business type is no longer in use")
        if errors:
            raise ValidationError(errors)

    def _clean_lifecycle(self, errors):
        stage = _STATUS_STAGE.get(self.status)
        if stage is None:
            return
        # A date of a stage the system has not reached (a retirement date for a running system) is an error, except
        # the planned go-live date of a system under construction (the MLPS duties count from it).
        for index, name in enumerate(_LIFECYCLE_DATES):
            planned = self.status == LifecycleStatus.BUILDING and name == "went_live_on"
            if index > stage and getattr(self, name) and not planned:
                errors[name] = _("Not allowed while the system is “%(status)s”") % {"status": self.get_status_display()}
        if self.status == LifecycleStatus.STOPPED and not self.stopped_on:
            errors["stopped_on"] = _("Give the date the system was stopped")
        if self.status == LifecycleStatus.RETIRED and not self.retired_on:
            errors["retired_on"] = _("Give the date the system was retired")
        previous = None
        for name in _LIFECYCLE_DATES:
            value = getattr(self, name)
            if value is None or name in errors:
                continue
            if previous is not None and value < previous[1]:
                errors[name] = _("Must not be earlier than “%(field)s” (%(date)s)") % {
                    "field": self._meta.get_field(previous[0]).verbose_name,
                    "date": previous[1].isoformat(),
                }
            previous = (name, value)

    def _clean_personal_information(self, errors):
        # Children's PI is minors' PI and sensitive PI; minors' and sensitive PI are PI (domain.md §4).
        if self.holds_child_pi and not self.holds_minor_pi:
            errors["holds_minor_pi"] = _(
                "Children's personal information is minors' personal information: tick this too"
            )
        if self.holds_child_pi and not self.holds_sensitive_pi:
            errors["holds_sensitive_pi"] = _(
                "Children's personal information is sensitive personal information: tick this too"
            )
        if (self.holds_minor_pi or self.holds_sensitive_pi) and not self.holds_pi:
            errors["holds_pi"] = _("Minors' or sensitive personal information is personal information: tick this too")
        self._normalise_safeguards()

    def _normalise_safeguards(self):
        # The safeguards apply only to children's PI: blank means "not applicable", so a system without children's PI
        # stores none, and one with children's PI starts each unanswered item as missing.
        for name in CHILD_SAFEGUARD_FIELDS:
            if not self.holds_child_pi:
                setattr(self, name, "")
            elif not getattr(self, name):
                setattr(self, name, ChildSafeguardState.MISSING)

    def save(self, *args, **kwargs):
        self._normalise_safeguards()
        super().save(*args, **kwargs)


# ---- assets that may belong to a system -----------------------------------------------------------------------------


class SystemAsset(UnitOwned):
    """Base of the assets that may link to an information system of the same unit or of one above it."""

    class Meta:
        abstract = True

    def get_absolute_url(self):
        return _object_url(self)

    def clean(self):
        errors = {}
        self.clean_asset(errors)
        _check_unit_chain(
            errors,
            "system",
            self.unit if self.unit_id else None,
            self.system if self.system_id else None,
            _("The information system must belong to this unit or to one above it"),
        )
        if errors:
            raise ValidationError(errors)

    def clean_asset(self, errors):
        """Type-specific rules; add messages to ``errors``."""


def _system_fk(related_name):
    return models.ForeignKey(
        InformationSystem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name=related_name,
        verbose_name=_("information system"),
        help_text=_("In spreadsheets: the system's ID (shown on its page)"),
    )


ICP_RE = re.compile(r"^[\u4e00-\u9fff]ICP[备证]\d{4,12}号(-\d{1,4})?$")
PSB_RE = re.compile(r"^[\u4e00-\u9fff]公网安备\d{10,16}号$")


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no lone trailing slash."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = ascii_host(parts.hostname or "")
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if port is not None and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        netloc = f"{host}:{port}"
    path = "" if parts.path == "/" and not parts.query else parts.path
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def url_host(url: str) -> str:
    try:
        return ascii_host(urlsplit(url.strip()).hostname or "")
    except ValueError:
        return ""


class Website(SystemAsset):
    """A website in the ledger; its host (derived from the URL) is what monitoring and scanner imports match on."""

    system = _system_fk("websites")
    name = models.CharField(_("name"), max_length=200)
    url = models.URLField(
        _("URL"),
        max_length=500,
        unique=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Home page address starting with http:// or https://"),
    )
    host = models.CharField(_("host"), max_length=255, editable=False, db_index=True)
    icp_number = models.CharField(
        _("ICP filing number"), max_length=50, blank=True, help_text=_("For example 京ICP备12345678号-1")
    )
    psb_number = models.CharField(
        _("public-security filing number"),
        max_length=50,
        blank=True,
        help_text=_("For example 京公网安备11010502000001号"),
    )
    cms = models.CharField(_("CMS"), max_length=100, blank=True, help_text=_("Content management system and version"))
    is_active = models.BooleanField(_("active"), default=True)
    remarks = models.TextField(_("remarks"), blank=True)

    class Meta:
        verbose_name = _("website")
        verbose_name_plural = _("websites")
        ordering = ["unit__path", "name"]

    def __str__(self):
        return self.name or self.display_host

    @property
    def display_url(self) -> str:
        """The URL as people write it: an internationalised host in its own script (stored as punycode)."""
        return unicode_url(self.url)

    @property
    def display_host(self) -> str:
        return unicode_host(self.host)

    def export_url(self) -> str:
        return self.display_url

    def export_host(self) -> str:
        return self.display_host

    def _derive(self):
        if self.url:
            try:
                self.url = normalise_url(self.url)
            except ValueError:
                pass
            self.host = url_host(self.url)
        self.icp_number = re.sub(r"\s+", "", self.icp_number or "")
        self.psb_number = re.sub(r"\s+", "", self.psb_number or "")

    def clean_asset(self, errors):
        try:
            credentials = "@" in urlsplit(self.url or "").netloc
        except ValueError:
            credentials = False
        self._derive()
        if credentials:
            errors["url"] = _("An address with a user name or password is not accepted")
        elif self.url and not self.host:
            errors["url"] = _("The address has no host name")
        if self.icp_number and not ICP_RE.match(self.icp_number):
            errors["icp_number"] = _("Write the ICP filing number as on the filing, e.g. 京ICP备12345678号-1")
        if self.psb_number and not PSB_RE.match(self.psb_number):
            errors["psb_number"] = _(
                "Write the public-security filing number as on the filing, e.g. 京公网安备11010502000001号"
            )

    def save(self, *args, **kwargs):
        self._derive()
        super().save(*args, **kwargs)


LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TLD_RE = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def fqdn_error(name: str):
    """Why ``name`` (already lower-case ASCII) is not a fully-qualified domain name, or None."""
    if not name or len(name) > 253:
        return _("A domain name has 1 to 253 characters")
    labels = name.split(".")
    if len(labels) < 2:
        return _("Give the full domain name, e.g. school.example")
    if not all(LABEL_RE.match(label) for label in labels):
        return _("Each part of a domain name has letters, digits or hyphens (at most 63, no hyphen at either end)")
    if not TLD_RE.match(labels[-1]):
        return _("The last part of a domain name must be a top-level domain")
    return None


class Domain(SystemAsset):
    """A registered domain name."""

    system = _system_fk("domains")
    name = models.CharField(
        _("domain name"),
        max_length=253,
        unique=True,
        help_text=_("Fully-qualified, e.g. school.example; stored in lower case"),
    )
    registrar = models.CharField(_("registrar"), max_length=100, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    remarks = models.TextField(_("remarks"), blank=True)

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
        ordering = ["name"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name as people write it: internationalised labels in their own script (stored as punycode)."""
        return unicode_host(self.name)

    def export_name(self) -> str:
        return self.display_name

    def _derive(self):
        if self.name:
            self.name = ascii_host(self.name)

    def clean_asset(self, errors):
        self._derive()
        error = fqdn_error(self.name)
        if error:
            errors["name"] = error

    def save(self, *args, **kwargs):
        self._derive()
        super().save(*args, **kwargs)


HEX_DIGITS = 32  # 128 bits: IPv4 and IPv6 bounds compare as fixed-width strings on every database
MIN_PREFIX = {4: 8, 6: 16}  # a shorter prefix is a typing error, not a unit's address space


def parse_range(text: str):
    """The network that ``text`` names (CIDR or single address), or raise ValueError with a user-facing reason."""
    text = (text or "").strip()
    if not text:
        raise ValueError(_("Give an address or a CIDR range"))
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(_("Not an IPv4 or IPv6 address or CIDR range")) from None
        raise ValueError(
            _("Host bits are set: did you mean %(network)s? (for a single address leave out the prefix)")
            % {"network": loose}
        ) from None
    if network.prefixlen < MIN_PREFIX[network.version]:
        raise ValueError(
            _("A /%(prefix)d range is too large for a unit's address space") % {"prefix": network.prefixlen}
        )
    return network


def address_hex(address) -> str:
    return f"{int(address):0{HEX_DIGITS}x}"


class IPRange(SystemAsset):
    """An IPv4 or IPv6 address range (or one address) a unit uses. Ranges of different units may not overlap unless
    both are marked shared (e.g. a district data centre's range used by its schools)."""

    system = _system_fk("ip_ranges")
    cidr = models.CharField(
        _("address or CIDR range"),
        max_length=50,
        help_text=_("For example 192.0.2.0/24, 2001:db8::/48 or a single address"),
    )
    version = models.PositiveSmallIntegerField(_("IP version"), editable=False, choices=[(4, "IPv4"), (6, "IPv6")])
    start_hex = models.CharField(max_length=HEX_DIGITS, editable=False, db_index=True)
    end_hex = models.CharField(max_length=HEX_DIGITS, editable=False, db_index=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    shared = models.BooleanField(
        _("shared"), default=False, help_text=_("Used together with other units; may overlap their shared ranges")
    )
    remarks = models.TextField(_("remarks"), blank=True)

    class Meta:
        verbose_name = _("IP range")
        verbose_name_plural = _("IP ranges")
        ordering = ["version", "start_hex", "end_hex"]
        indexes = [models.Index(fields=["version", "start_hex", "end_hex"])]
        constraints = [models.UniqueConstraint(fields=["unit", "cidr"], name="assets_iprange_unit_cidr_unique")]

    def __str__(self):
        return self.cidr

    @property
    def network(self):
        return ipaddress.ip_network(self.cidr, strict=False)

    @property
    def first_address(self) -> str:
        return str(self.network.network_address)

    @property
    def last_address(self) -> str:
        return str(self.network.broadcast_address)

    @property
    def size(self) -> int:
        return self.network.num_addresses

    def _derive(self):
        """Normalise the CIDR and compute the bounds; leaves invalid text alone for ``clean`` to report."""
        try:
            network = parse_range(self.cidr)
        except ValueError:
            return None
        self.cidr = str(network)
        self.version = network.version
        self.start_hex = address_hex(network.network_address)
        self.end_hex = address_hex(network.broadcast_address)
        return network

    def overlapping(self):
        """Ranges of the same IP version whose addresses intersect this one's (any unit)."""
        qs = IPRange.objects.filter(version=self.version, start_hex__lte=self.end_hex, end_hex__gte=self.start_hex)
        return qs.exclude(pk=self.pk) if self.pk else qs

    def clean_asset(self, errors):
        try:
            parse_range(self.cidr)
        except ValueError as exc:
            errors["cidr"] = str(exc.args[0])
            return
        self._derive()
        if not self.unit_id:
            return
        overlapping = self.overlapping()
        if overlapping.filter(unit_id=self.unit_id, cidr=self.cidr).exists():
            errors["cidr"] = _("This unit has already registered %(cidr)s") % {"cidr": self.cidr}
            return
        message = self.overlap_error()
        if message:
            errors["cidr"] = message

    def overlap_error(self):
        """Why this range may not be stored beside another unit's, or None.

        Checked against every unit, not only the user's subtree, so the message names the other range but never the
        other unit.
        """
        conflicts = self.overlapping().exclude(unit_id=self.unit_id)
        if self.shared:
            conflicts = conflicts.filter(shared=False)
        other = conflicts.order_by("start_hex").values_list("cidr", flat=True).first()
        if not other:
            return None
        return _(
            "%(cidr)s overlaps %(other)s, which another unit has registered; ranges of different units may "
            "overlap only when both are marked shared"
        ) % {"cidr": self.cidr, "other": other}

    def save(self, *args, **kwargs):
        if self._derive() is not None and self.unit_id:
            # clean() checked this before; checked again here because several rows of one import (or two concurrent
            # requests) are validated before any of them is written. Raised as a validation error, so the generic
            # views and the import report it and roll back.
            message = self.overlap_error()
            if message:
                raise ValidationError({"cidr": message})
        super().save(*args, **kwargs)


class MobileAppKind(models.TextChoices):
    APP = "app", _("Mobile app")
    MINI_PROGRAM = "mini_program", _("Mini-program")
    OFFICIAL_ACCOUNT = "official_account", _("Official account")
    OTHER = "other", _("Other")


class UserFilingState(models.TextChoices):
    NOT_FILED = "not_filed", _("Not filed")
    FILED = "filed", _("Filed")
    REJECTED = "rejected", _("Rejected")


class MobileApp(SystemAsset):
    """An education app, mini-program or official account used by a unit (domain.md §8: 教育APP备案)."""

    system = _system_fk("mobile_apps")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=MobileAppKind.choices, default=MobileAppKind.APP)
    provider = models.CharField(_("provider"), max_length=200, blank=True)
    provider_filing_number = models.CharField(
        _("provider filing number"),
        max_length=100,
        blank=True,
        help_text=_("Education app filing number (教育APP备案号)"),
    )
    user_filing_state = models.CharField(
        _("user filing with the supervising bureau"),
        max_length=10,
        choices=UserFilingState.choices,
        default=UserFilingState.NOT_FILED,
    )
    icp_filed = models.BooleanField(_("ICP filed"), default=False)
    mlps_filed = models.BooleanField(_("MLPS filed"), default=False)
    blacklisted = models.BooleanField(_("blacklisted"), default=False)
    in_use = models.BooleanField(_("in use"), default=True)
    remarks = models.TextField(_("remarks"), blank=True)

    class Meta:
        verbose_name = _("mobile app")
        verbose_name_plural = _("mobile apps")
        ordering = ["unit__path", "name"]

    def __str__(self):
        return self.name

    @property
    def missing_prerequisites(self) -> list[str]:
        """Filing prerequisites (ICP, MLPS) not yet met."""
        missing = []
        if not self.icp_filed:
            missing.append(str(self._meta.get_field("icp_filed").verbose_name))
        if not self.mlps_filed:
            missing.append(str(self._meta.get_field("mlps_filed").verbose_name))
        return missing

    @property
    def must_be_cleared(self) -> bool:
        """In use although blacklisted or not user-filed: the bureau requires it to be cleared (domain.md §8)."""
        return self.in_use and (self.blacklisted or self.user_filing_state != UserFilingState.FILED)


class ContentControl(models.TextChoices):
    MANUAL_REVIEW = "manual_review", _("Manual review before publishing")
    PLATFORM_MANAGED = "platform_managed", _("Managed by a publishing platform")
    OFFLINE_PLAYBACK = "offline_playback", _("Offline playback only")
    NONE = "none", _("No control")


class Screen(SystemAsset):
    """An electronic screen (电子屏) whose content the unit must control."""

    system = _system_fk("screens")
    name = models.CharField(_("name"), max_length=200)
    location = models.CharField(_("location"), max_length=200)
    networked = models.BooleanField(_("networked"), default=False)
    content_control = models.CharField(
        _("content control"), max_length=20, choices=ContentControl.choices, default=ContentControl.MANUAL_REVIEW
    )
    responsible_person = models.ForeignKey(
        "orgs.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="screens",
        verbose_name=_("responsible person"),
        help_text=_("A person of this unit or of a unit above it; in spreadsheets: the person's ID"),
    )
    remarks = models.TextField(_("remarks"), blank=True)

    class Meta:
        verbose_name = _("electronic screen")
        verbose_name_plural = _("electronic screens")
        ordering = ["unit__path", "name"]

    def __str__(self):
        return self.name

    def clean_asset(self, errors):
        _check_unit_chain(
            errors,
            "responsible_person",
            self.unit if self.unit_id else None,
            self.responsible_person if self.responsible_person_id else None,
            _("The responsible person must belong to this unit or to one above it"),
        )
