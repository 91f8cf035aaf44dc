#!/usr/bin/env python
"""Django's usual entry point; the same as the ``edusec`` command."""

from edusec.cli import main

if __name__ == "__main__":
    main()
