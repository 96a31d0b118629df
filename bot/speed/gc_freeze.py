"""The loaded model is about 520k Python objects; every full garbage collection walks them all
(~250 ms here), and every queued turn waits. Once the model is loaded they live as long as the
server, so they are moved out of the collector's sight (`gc.freeze()`)."""
from __future__ import annotations

import gc
from typing import Any

NAME = "gc_freeze"


def install(agent: Any = None) -> None:
    gc.collect()
    gc.freeze()

