"""``python -m edusec …`` is the ``edusec`` command."""

import sys

from edusec.cli import main

if __name__ == "__main__":
    main(["python -m edusec", *sys.argv[1:]])
