"""The simulated school-website farm (``edusec simfarm``): many virtual school sites on 127.0.0.1 and ::1.

The demo, the tests and the benchmarks probe only this farm. It runs without Django settings
(``python -m monitoring.simfarm``); see docs/simfarm.md.
"""

from monitoring.simfarm.server import DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT, Farm
from monitoring.simfarm.sites import CONTROL_HOST, Site, SiteError, generate_sites, load_sites

__all__ = [
    "CONTROL_HOST",
    "DEFAULT_HTTPS_PORT",
    "DEFAULT_HTTP_PORT",
    "Farm",
    "Site",
    "SiteError",
    "generate_sites",
    "load_sites",
]
