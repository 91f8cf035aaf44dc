"""The engine raises the garbage collector's first threshold (never lowers it): with the default, young collections
ran every few probes and cost a quarter of the engine's CPU."""

import gc

from monitoring.engine import Engine, run_coroutine
from monitoring.engine.engine import GC_THRESHOLD, relax_gc


def test_engine_start_relaxes_the_collector_and_never_tightens_it():
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)

        async def start_and_close():
            async with Engine(allow_public=False):
                return gc.get_threshold()

        assert run_coroutine(start_and_close) == (GC_THRESHOLD, 10, 10)
        gc.set_threshold(50_000, 10, 10)
        relax_gc()
        assert gc.get_threshold()[0] == 50_000
        gc.set_threshold(0)  # collection switched off by someone: left alone
        relax_gc()
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*saved)
