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


@dataclass
class PageAnalysis:
    """Everything ``analyse_page`` learned about one page.

    ``fingerprint`` is the small JSON-serialisable sketch (title, per-region text shingles, tag-sequence shingles) that
    ``defacement.make_baseline`` and ``defacement.compare`` work on; the storage keeps it for later comparisons.
    """

    url: str
    title: str
    fingerprint: dict
    detections: list[Detection] = field(default_factory=list)

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
