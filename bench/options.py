"""The benchmark's knobs, from the environment (BENCH_*), read once."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
SECTIONS = ("one", "two", "speed", "training", "safety")  # make bench's parts, in the order they run


@dataclass(frozen=True)
class Options:
    quick: bool
    samples: int  # timed turns per latency cell
    concurrency: Tuple[int, ...]
    hold_seconds: int
    users: int
    spawn_rate: int
    redis_url: str  # BENCH_REDIS_URL; empty: the benchmark starts its own
    rasa_init_epochs: int  # 0: the default pipeline's own (100)
    only: Tuple[str, ...] = SECTIONS  # BENCH_ONLY: the sections to run

    def wants(self, section: str) -> bool:
        return section in self.only


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def load() -> Options:
    quick = os.environ.get("BENCH_QUICK", "").strip() not in ("", "0", "false")
    concurrency = os.environ.get("BENCH_CONCURRENCY", "1,10,50")
    return Options(
        quick=quick,
        samples=_int("BENCH_SAMPLES", 60 if quick else 300),
        concurrency=tuple(int(c) for c in concurrency.split(",") if c.strip()),
        hold_seconds=_int("BENCH_HOLD_SECONDS", 20 if quick else 300),
        users=_int("BENCH_USERS", 50),
        spawn_rate=_int("BENCH_SPAWN_RATE", 10),
        redis_url=os.environ.get("BENCH_REDIS_URL", "").strip(),  # empty: a Redis of the benchmark's own
        rasa_init_epochs=_int("BENCH_RASA_INIT_EPOCHS", 5 if quick else 0),
        only=_sections(os.environ.get("BENCH_ONLY", "")),
    )


def _sections(raw: str) -> Tuple[str, ...]:
    named = [name.strip().lower() for name in raw.split(",") if name.strip()]
    unknown = [name for name in named if name not in SECTIONS]
    if unknown:
        raise SystemExit(f"BENCH_ONLY names unknown sections {unknown}: use some of {', '.join(SECTIONS)}")
    return tuple(name for name in SECTIONS if name in named) or SECTIONS
