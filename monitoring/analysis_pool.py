"""Preloaded by the fork server of the monitor's analysis pool (``Engine(analysis_preload=...)``): Django configured
(the analysers' evidence may hold lazy translations), the analysers and the default keyword library loaded once, so
that each pool worker forks from a ready process instead of importing everything itself."""

import os

if os.environ.get("DJANGO_SETTINGS_MODULE"):
    import django

    django.setup()

from monitoring.analysis import KeywordLibrary  # noqa: E402
from monitoring.content import analyse_in_pool  # noqa: E402,F401

KeywordLibrary.default()

# Everything loaded so far lives as long as the workers: keep it out of the collector's generations, so that a worker's
# collections walk only what its own pages allocate (and do not touch, hence copy, the shared pages).
import gc  # noqa: E402

gc.freeze()
