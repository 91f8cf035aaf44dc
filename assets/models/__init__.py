"""Asset ledger (台账) and MLPS records.

Ledger models live in ``ledger``, MLPS lifecycle records in ``mlps_records``, recorded duty states in ``duty_records``.
"""

from .duty_records import *  # noqa: F401,F403
from .ledger import *  # noqa: F401,F403
from .mlps_records import *  # noqa: F401,F403
