"""``python -m monitoring.simfarm``: the farm as a bare Python process, without Django settings."""

import sys

from monitoring.simfarm.cli import main

if __name__ == "__main__":
    sys.exit(main())
