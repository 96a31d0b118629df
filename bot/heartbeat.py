"""Health of the processes that serve no HTTP (the delivery worker, the Telegram bridge).

Each touches var/heartbeat/<name> while it works; `python -m bot.heartbeat NAME` exits 0 when that
file is fresh and 1 when it is stale or missing, or while an alarm stands (var/heartbeat/<name>.alarm:
the worker's stuck-delivery alarm), for a Kubernetes exec probe or a cron check.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from bot.settings import ConfigError, load_settings

DEFAULT_MAX_AGE_SECONDS = 120.0


def path(var_dir: Path, name: str) -> Path:
    return var_dir / "heartbeat" / name


def beat(var_dir: Path, name: str) -> None:
    target = path(var_dir, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch()


def raise_alarm(var_dir: Path, name: str, text: str) -> None:
    """While an alarm stands, `name`'s health check fails (however fresh its heartbeat)."""
    target = path(var_dir, f"{name}.alarm")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text + "\n", encoding="utf-8")


def clear_alarm(var_dir: Path, name: str) -> None:
    path(var_dir, f"{name}.alarm").unlink(missing_ok=True)


def alarm(var_dir: Path, name: str) -> Optional[str]:
    try:
        return path(var_dir, f"{name}.alarm").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def age(var_dir: Path, name: str) -> Optional[float]:
    try:
        return time.time() - path(var_dir, name).stat().st_mtime
    except FileNotFoundError:
        return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.heartbeat", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=["worker", "telegram"])
    parser.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_SECONDS, help="seconds (default 120)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    raised = alarm(settings.var_dir, args.name)
    if raised:
        print(f"{args.name}: alarm: {raised}")
        return 1
    seconds = age(settings.var_dir, args.name)
    if seconds is None:
        print(f"{args.name}: no heartbeat yet")
        return 1
    healthy = seconds <= args.max_age
    print(f"{args.name}: last heartbeat {seconds:.0f} s ago ({'ok' if healthy else 'stale'})")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
