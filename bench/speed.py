"""Speed side by side (issue 13): ours in the `make run` shape (one Rasa server, SQLite conversations,
in-memory lock, our action server) beside the plain peer build (bench/peer.py), measured in the same
run, and each speed lever alone (bench's ablation: SPEED_LEVERS names it alone; "none" is the
baseline). Closed loop over REST, N conversations at once, every turn timed.

Cells (each a fixed number of turns, the systems taking turns, so a busy spell falls on all):
- programme questions, 10 at once: each conversation asks five programme questions;
- form steps, 10 and 50 at once: each conversation starts a referral and answers five questions;
- turn 30, 10 at once: 29 untimed turns (questions), then a programme question, timed.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import aiohttp
import yaml

from bench import peer
from bench.options import ROOT, Options
from bench.progress import say
from bench.scenarios import REST_PATH, reply_text
from bench.stats import summary
from bot.settings import SPEED_LEVERS
from deploy.cluster import answers, free_port, stop_all, wait_until
from tests.environment import process_env

RASA = Path(sys.executable).parent / "rasa"
QUESTIONS: List[Tuple[str, str]] = [
    ("What is Circle of Security Parenting?", "circle"), ("Where are the groups held?", "group"),
    ("Who runs the groups?", "facilitat"), ("How long is the course?", "sessions"), ("Can dads come?", "dads"),
]
START = ("I'd like to make a referral", "Are you referring yourself")
STEPS: List[Tuple[str, str]] = [
    ("Myself or my family", "What's your name?"), ("Zofia Example", "relationship to the baby"),
    ("Parent", "How old is the baby?"), ("11 weeks", "help with"), ("help with settling at night", "phone number"),
]


@dataclass
class Server:
    name: str
    url: str
    procs: List[subprocess.Popen]


@contextmanager
def _rasa(name: str, model: Path, cwd: Path, logs: Path, env: Dict[str, str], *args: str) -> Iterator[Server]:
    port = free_port()
    log = (logs / f"{name}.log").open("w")
    proc = subprocess.Popen([str(RASA), "run", "-m", str(model), "-i", "127.0.0.1", "-p", str(port), *args],
                            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: proc.poll() is None and answers(f"http://127.0.0.1:{port}/"), f"{name} to answer", 300)
        yield Server(name, f"http://127.0.0.1:{port}", [proc])
    finally:
        stop_all([proc])
        log.close()


@contextmanager
def _action_server(logs: Path, env: Dict[str, str]) -> Iterator[str]:
    port = free_port()
    log = (logs / "actions.log").open("w")
    proc = subprocess.Popen([str(RASA), "run", "actions", "--actions", "actions", "-p", str(port)],
                            cwd=ROOT, env={**env, "SANIC_HOST": "127.0.0.1"}, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/health"), "the action server to answer", 120)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        stop_all([proc])
        log.close()


@contextmanager
def ours(name: str, levers: str, action_url: str, tmp: Path, endpoints: Optional[Path] = None) -> Iterator[Server]:
    folder = tmp / name
    folder.mkdir()
    env = process_env(COSP_VAR_DIR=str(folder), TRACKER_DATABASE_URL=f"sqlite:///{folder / 'tracker.db'}",
                      ACTION_SERVER_URL=action_url, SPEED_LEVERS=levers)
    with _rasa(name, ROOT / "models" / "cosp.tar.gz", ROOT, tmp, env,
               "--endpoints", str(endpoints or "endpoints.yml"), "--credentials", "credentials.yml") as server:
        yield server


# What parts of make run's turn that are not levers cost (issue 16 added the first two): all levers
# on, with and without each. Instead: no event broker; Rasa's in-memory lock store (one process only);
# the file lock store as it was before its byte locks (Rasa's tickets in files).
PARTS = {"metrics event broker": ("event_broker", None), "file lock store": ("lock_store", {"type": "in_memory"}),
         "byte locks": ("lock_store", {"type": "bench.ticket_lock_store.TicketFileLockStore"})}


def endpoints_without(part: str, tmp: Path) -> Path:
    key, stock = PARTS[part]
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    if stock is None:
        endpoints.pop(key)
    else:
        endpoints[key] = stock
    path = tmp / f"endpoints-without-{key}.yml"
    path.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    return path


@contextmanager
def plain_peer(tmp: Path) -> Iterator[Server]:
    folder = tmp / "peer-project"
    folder.mkdir()
    say("speed: training the peer build (bench/peer.py)")
    model = peer.build(folder)
    (folder / "credentials.yml").write_text("rest:\n")
    with _rasa("peer", model, folder, tmp, process_env(), "--credentials", "credentials.yml") as server:
        yield server


# --- the load ---------------------------------------------------------------------------------------
async def _say(session: aiohttp.ClientSession, url: str, sender: str, text: str, expect: str) -> Tuple[float, bool]:
    began = time.perf_counter()
    try:
        async with session.post(url, json={"sender": sender, "message": text}) as reply:
            body = await reply.json(content_type=None) if reply.status == 200 else None
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        body = None
    took = (time.perf_counter() - began) * 1000
    return took, body is not None and expect.lower() in reply_text(body).lower()


async def _cell(base: str, kind: str, concurrency: int, conversations: int) -> dict:
    url = base + REST_PATH
    timed: List[float] = []
    errors = 0
    left = conversations
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as session:

        async def one() -> None:
            nonlocal left, errors
            while left > 0:
                left -= 1
                sender = f"speed-{kind}-{uuid.uuid4().hex[:12]}"
                if kind == "questions":
                    turns, warm = QUESTIONS, []
                elif kind == "form":
                    turns, warm = [START, *STEPS], []
                else:  # turn 30: 29 turns first, untimed
                    turns, warm = QUESTIONS[:1], [QUESTIONS[i % len(QUESTIONS)] for i in range(29)]
                for text, expect in warm:
                    await _say(session, url, sender, text, expect)
                for text, expect in turns:
                    took, right = await _say(session, url, sender, text, expect)
                    timed.append(took)
                    errors += not right

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    per_second = None if kind == "turn30" else round(len(timed) / seconds, 1)
    return {**summary(timed), "turns": len(timed), "errors": errors, "turns_per_second": per_second}


CELLS = [("questions", 10), ("form", 10), ("form", 50), ("turn30", 10)]


def _conversations(kind: str, concurrency: int, quick: bool) -> int:
    per_worker = {"questions": 20, "form": 8, "turn30": 3}[kind] if not quick else {"questions": 6, "form": 3, "turn30": 1}[kind]
    return max(per_worker * concurrency // (5 if concurrency >= 50 else 1), concurrency)


def measure(servers: Sequence[Server], quick: bool, cells: Sequence[Tuple[str, int]] = CELLS) -> Dict[str, Dict[str, dict]]:
    """{server: {"kind@N": cell}}, the servers taking turns cell by cell."""
    results: Dict[str, Dict[str, dict]] = {s.name: {} for s in servers}
    for server in servers:  # warm-up, not kept
        asyncio.run(_cell(server.url, "form", 2, 2))
        asyncio.run(_cell(server.url, "questions", 2, 2))
    for kind, concurrency in cells:
        for server in servers:
            cell = asyncio.run(_cell(server.url, kind, concurrency, _conversations(kind, concurrency, quick)))
            results[server.name][f"{kind}@{concurrency}"] = cell
            say(f"speed: {server.name:<22} {kind}@{concurrency}: {cell['turns_per_second']} turns/s, "
                f"p50 {cell['p50']} p95 {cell['p95']} ms, errors {cell['errors']}")
    return results


def run(options: Options) -> dict:
    quick = options.quick
    results: Dict[str, dict] = {"side_by_side": {}, "ablation": {}, "parts": {}}
    with tempfile.TemporaryDirectory(prefix="cosp-bench-speed-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        action_url = stack.enter_context(_action_server(tmp, process_env()))
        the_peer = stack.enter_context(plain_peer(tmp))
        all_on = stack.enter_context(ours("ours", "all", action_url, tmp))
        none_on = stack.enter_context(ours("ours, no levers", "none", action_url, tmp))
        results["side_by_side"] = measure([the_peer, all_on, none_on], quick)
        for lever in SPEED_LEVERS:  # each alone, beside the baseline measured again with it
            with ours(f"only {lever}", lever, action_url, tmp) as alone:
                results["ablation"][lever] = measure([none_on, alone], quick, [("questions", 10), ("form", 10)])
        for part in PARTS:  # each beside all levers on, measured again with it
            with ours(f"without the {part}", "all", action_url, tmp, endpoints_without(part, tmp)) as without:
                results["parts"][part] = measure([all_on, without], quick, [("questions", 10), ("form", 10)])
    return results


def ratios(results: dict) -> Dict[str, Dict[str, Optional[float]]]:
    """ours ÷ peer, per cell: turns/s (higher is better) and p95 (lower is better)."""
    side = results["side_by_side"]
    out: Dict[str, Dict[str, Optional[float]]] = {}
    for cell, peer_cell in side.get("peer", {}).items():
        mine = side["ours"][cell]
        out[cell] = {
            "turns_per_second_ratio": None if not peer_cell["turns_per_second"] else round(mine["turns_per_second"] / peer_cell["turns_per_second"], 2),
            "p95_ratio": None if not peer_cell["p95"] else round(mine["p95"] / peer_cell["p95"], 2),
        }
    return out


def table(results: dict) -> str:
    lines = ["Speed side by side (make run shape, one Rasa server; turns/s and p95 ms)", ""]
    side = results["side_by_side"]
    cells = list(next(iter(side.values())).keys()) if side else []
    lines.append(f"{'':<24}" + "".join(f"{c:>22}" for c in cells))
    for name, by_cell in side.items():
        lines.append(f"{name:<24}" + "".join(
            f"{str(by_cell[c]['turns_per_second'] or '-') + ' /s, ' + str(by_cell[c]['p95']) + ' ms':>22}" for c in cells))
    lines.append("")
    lines.append("ours ÷ peer: " + ", ".join(f"{c}: {r['turns_per_second_ratio']}× turns/s, p95 {r['p95_ratio']}×"
                                             for c, r in ratios(results).items()))
    lines += ["", "Ablation: each lever alone, beside no levers measured in the same cells"]
    for lever, by_server in results["ablation"].items():
        base, alone = by_server["ours, no levers"], by_server[f"only {lever}"]
        parts = []
        for cell in base:
            b, a = base[cell], alone[cell]
            parts.append(f"{cell}: {a['turns_per_second']} vs {b['turns_per_second']} /s "
                         f"({round(a['turns_per_second'] / b['turns_per_second'], 2)}×), p95 {a['p95']} vs {b['p95']} ms")
        lines.append(f"  {lever:<20} " + "; ".join(parts))
    if results.get("parts"):
        lines += ["", "What parts of the turn cost: all levers on, with each and with what it replaced instead"]
    for part, by_server in results.get("parts", {}).items():
        base, without = by_server["ours"], by_server[f"without the {part}"]
        lines.append(f"  {part:<22} " + "; ".join(
            f"{cell}: {base[cell]['turns_per_second']} with, {without[cell]['turns_per_second']} without /s "
            f"({round(base[cell]['turns_per_second'] / without[cell]['turns_per_second'], 2)}×)" for cell in base))
    return "\n".join(lines)


def main() -> int:
    from bench.options import load
    import json

    results = run(load())
    (ROOT / "bench" / "speed-results.json").write_text(json.dumps({**results, "ratios": ratios(results)}, indent=2) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
