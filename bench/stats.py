"""Percentiles and summaries of latency samples."""
from __future__ import annotations

import math
from typing import Dict, List, Optional


def percentile(samples: List[float], p: float) -> Optional[float]:
    """Nearest-rank percentile; None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples_ms: List[float]) -> Dict[str, Optional[float]]:
    return {f"p{p}": _round(percentile(samples_ms, p)) for p in (50, 95, 99)}


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)
