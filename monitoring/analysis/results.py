"""The two result types of the content analysers.

They are plain dataclasses holding JSON-serialisable values only, so that the engine can hand them to the storage (which
writes ``evidence`` into a JSON column) without knowing anything about how they were produced.
"""

from dataclasses import asdict, dataclass, field

CRITICAL = "critical"
HIGH = "high"
MEDIUM = "medium"
LOW = "low"
INFO = "info"

# Highest first; used to sort detections and to pick the stronger of two severities.
SEVERITIES = (CRITICAL, HIGH, MEDIUM, LOW, INFO)


def severity_rank(severity: str) -> int:
    """Lower is more severe (0 = critical), so ``min`` picks the strongest."""
    return SEVERITIES.index(severity)


@dataclass
class Detection:
    """One thing an analyser found on a page.

    ``kind`` is a ``monitoring.vocabulary.DETECTION_KINDS`` identifier; ``technique`` a ``HIDDEN_LINK_TECHNIQUES``
    identifier for hidden links and cloaking (empty otherwise). ``summary`` is a short English sentence without
    template placeholders, so it can be stored as-is. ``evidence`` is a JSON-serialisable dict; it never holds a raw
    ID-card or mobile number (``analyse_page`` masks every string in it before returning).
    """

    kind: str
    severity: str
    summary: str
    technique: str = ""
    evidence: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


class _Fingerprint:
    """The ``fingerprint`` field: a dict, or an object whose ``fingerprint()`` builds it on first read.

    ``analyse_page`` passes the page's ``defacement.Sketch``, so a page analysed without a baseline never pays for
    the shingles unless somebody reads them. Reading, comparing, printing and pickling all see the same dict.
    """

    def __set_name__(self, owner, name):
        self.slot = "_" + name

    def __get__(self, instance, owner=None):
        if instance is None:
            raise AttributeError(self.slot[1:])  # no class-level default: the dataclass field stays required
        value = instance.__dict__[self.slot]
        if not isinstance(value, dict):
            value = instance.__dict__[self.slot] = value.fingerprint()
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.slot] = value


@dataclass
class PageAnalysis:
    """Everything ``analyse_page`` learned about one page.

    ``fingerprint`` is the small JSON-serialisable sketch (title, per-region text shingles, tag-sequence shingles) that
    ``defacement.make_baseline`` and ``defacement.compare`` work on; the storage keeps it for later comparisons. It is
    built when first read (see ``_Fingerprint``).
    """

    url: str
    title: str
    fingerprint: dict = _Fingerprint()
    detections: list[Detection] = field(default_factory=list)

    def pending_sketch(self):
        """The not yet serialised fingerprint source (``defacement.Sketch``), or None once ``fingerprint`` is a dict."""
        value = self.__dict__.get("_fingerprint")
        return None if isinstance(value, dict) else value

    def __getstate__(self):
        self.fingerprint  # noqa: B018 - serialise first: the sketch holds the parsed tree, which cannot be pickled
        return self.__dict__.copy()

    @property
    def kinds(self) -> set[str]:
        return {detection.kind for detection in self.detections}

    def get(self, kind: str) -> Detection | None:
        """The detection of ``kind``, if any (each analyser reports at most one per page)."""
        for detection in self.detections:
            if detection.kind == kind:
                return detection
        return None

    def as_dict(self) -> dict:
        return {
            "url": self.url,
            "title": self.title,
            "fingerprint": self.fingerprint,
            "detections": [detection.as_dict() for detection in self.detections],
        }
