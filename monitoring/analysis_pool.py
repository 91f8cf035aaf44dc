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
