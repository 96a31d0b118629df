"""Latency per turn through the REST channel, N conversations at once, ours beside the baseline.

Every conversation is a fresh sender: its first turn (untimed) opens it, its second turn is timed,
so each sample is the same step of the same kind of conversation.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Dict, Iterable, List, Optional, Tuple

import aiohttp

from bench.options import Options
from bench.progress import say
from bench.scenarios import REST_PATH, SCENARIOS, Scenario, Turn, new_sender, payload, problem
from bench.stats import summary

TIMEOUT_SECONDS = 60


async def _send(session: aiohttp.ClientSession, url: str, sender: str, turn: Turn) -> Optional[str]:
    try:
        async with session.post(url, json=payload(sender, turn)) as reply:
            body = await reply.json(content_type=None) if reply.status == 200 else None
            return problem(turn, reply.status, body)
    except asyncio.TimeoutError:
        return "timeout"
    except (aiohttp.ClientError, ValueError) as error:
        return type(error).__name__


async def _cell(base_url: str, scenario: Scenario, concurrency: int, samples: int) -> dict:
    url = base_url + REST_PATH
    left = samples
    timings: List[float] = []
    errors: Counter = Counter()
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as session:

        async def conversation() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                sender = new_sender(scenario.name)
                failed = await _send(session, url, sender, scenario.setup)
                if failed:
                    errors[f"opening turn: {failed}"] += 1
                    continue
                began = time.perf_counter()
                failed = await _send(session, url, sender, scenario.timed)
                if failed:
                    errors[failed] += 1
                else:
                    timings.append((time.perf_counter() - began) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(conversation() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    return {**summary(timings), "samples": len(timings), "errors": sum(errors.values()),
            "error_kinds": dict(errors), "turns_per_second": round(2 * samples / seconds, 1)}


def warm_up(urls: Iterable[str]) -> None:
    """A few conversations of each kind per Rasa server, not kept: the first turns build parts lazily."""
    for url in urls:
        for scenario in SCENARIOS:
            asyncio.run(_cell(url, scenario, 2, 10))


def run(systems: Dict[str, str], options: Options) -> Dict[str, Dict[str, Dict[str, dict]]]:
    """{system: {scenario: {concurrency: cell}}}; cells alternate between systems, so a busy spell
    on the machine falls on both alike."""
    results: Dict[str, Dict[str, Dict[str, dict]]] = {s: {sc.name: {} for sc in SCENARIOS} for s in systems}
    warm_up(systems.values())
    cells: List[Tuple[int, Scenario, str]] = [
        (c, scenario, system) for c in options.concurrency for scenario in SCENARIOS for system in systems]
    for concurrency, scenario, system in cells:
        say(f"latency: {system}, {scenario.name}, {concurrency} at once, {options.samples} timed turns")
        cell = asyncio.run(_cell(systems[system], scenario, concurrency, options.samples))
        say(f"  p50 {cell['p50']} ms, p95 {cell['p95']} ms, p99 {cell['p99']} ms, errors {cell['errors']}")
        results[system][scenario.name][str(concurrency)] = cell
    return results
