"""The file lock store (bot/lock_store.py): one conversation's turns one at a time and in the order
they came, other conversations never held up, and another process's hold (the worker's purge and
erasure) respected, also when that process dies holding it."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from rasa.core.lock_store import LockError

from bot.lock_store import FileLockStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def locks(tmp_path: Path) -> FileLockStore:
    return FileLockStore(directory=tmp_path / "locks")


def test_one_conversations_turns_run_one_at_a_time_in_the_order_they_came(locks):
    seen: List[str] = []
    later: List[asyncio.Task] = []

    async def turn(name: str, then: str = "") -> None:
        async with locks.lock("web:one"):
            seen.append(f"{name} in")
            for _ in range(3):  # let every other task run while this one holds the lock
                await asyncio.sleep(0)
            seen.append(f"{name} out")
        if then:  # arrives just as the lock comes free, behind the three already waiting
            later.append(asyncio.create_task(turn(then)))

    async def main() -> None:
        await asyncio.gather(turn("a", then="e"), turn("b"), turn("c"), turn("d"))
        await asyncio.gather(*later)

    asyncio.run(main())
    assert seen == [f"{name} {way}" for name in "abcde" for way in ("in", "out")]
    assert not locks.is_held("web:one") and locks.waiting("web:one") == 0


def test_other_conversations_are_never_held_up(locks):
    async def main() -> None:
        inside = asyncio.Event()

        async def first() -> None:
            async with locks.lock("web:first"):
                await asyncio.wait_for(inside.wait(), 10)  # only ends if the second got in meanwhile

        async def second() -> None:
            async with locks.lock("web:second"):
                inside.set()

        await asyncio.gather(first(), second())

    asyncio.run(main())


def test_the_lock_file_names_no_conversation(locks):
    async def main() -> None:
        async with locks.lock("telegram:4455667788"):
            assert locks.is_held("telegram:4455667788") and not locks.is_held("telegram:4455667789")

    asyncio.run(main())
    assert [p.name for p in locks.directory.iterdir()] == ["conversations"]
    assert b"4455667788" not in locks.path.read_bytes()


HOLDER = """
import sys
from pathlib import Path
from bot.lock_store import FileLockStore
with FileLockStore(directory=Path(sys.argv[1])).hold(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


def holder(locks: FileLockStore, conversation: str) -> subprocess.Popen:
    """Another process (as the delivery worker) holding the conversation until its stdin closes."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(locks.directory), conversation], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize("ending", ["lets go", "dies"])
def test_a_turn_waits_while_another_process_holds_the_conversation(locks, ending):
    proc = holder(locks, "web:erasing")
    try:
        async def main() -> None:
            order: List[str] = []

            async def turn() -> None:
                async with locks.lock("web:erasing"):
                    order.append("turn")

            task = asyncio.create_task(turn())
            give_up = asyncio.get_running_loop().time() + 30
            while locks.waiting("web:erasing") != 1:
                assert not task.done() and asyncio.get_running_loop().time() < give_up, "the turn did not wait"
                await asyncio.sleep(0.01)
            async with locks.lock("web:another"):  # the rest of the server goes on meanwhile
                order.append("another")
            assert order == ["another"] and locks.is_held("web:erasing")
            if ending == "dies":
                proc.kill()
            else:
                proc.stdin.close()
            await asyncio.wait_for(task, 30)
            assert order == ["another", "turn"]

        asyncio.run(main())
    finally:
        proc.kill()
        proc.wait(10)


def test_a_hold_waits_for_a_turn_in_this_process_and_gives_up_with_a_lock_error(locks):
    async def main() -> None:
        async with locks.lock("web:busy"):
            with pytest.raises(LockError):
                with locks.hold("web:busy", wait_seconds=0.1):
                    pass
        with locks.hold("web:busy", wait_seconds=0.1):  # free once the turn ends
            assert locks.is_held("web:busy")
        assert not locks.is_held("web:busy")

    asyncio.run(main())


def test_waiting_is_counted_while_a_second_turn_queues(locks):
    async def main() -> None:
        release = asyncio.Event()

        async def first() -> None:
            async with locks.lock("web:twice"):
                await release.wait()

        async def second() -> None:
            async with locks.lock("web:twice"):
                pass

        tasks = [asyncio.create_task(first())]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(second()))
        wait_for = asyncio.get_running_loop().time() + 10
        while locks.waiting("web:twice") != 1:
            assert asyncio.get_running_loop().time() < wait_for
            await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*tasks)
        assert locks.waiting("web:twice") == 0 and not locks._queues

    asyncio.run(main())
