"""docs/deploy.md's backup steps, run as written (issue 16): dump the referral store with pg_dump,
restore the dump into a new database with the restore test's commands, and a delivery worker on the
restored database delivers the referral that was pending when the dump was made."""
from __future__ import annotations

import os
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List
from urllib.parse import urlsplit

import pytest

from actions.delivery.store import get_referral, list_deliveries, make_engine, save_referral
from actions.delivery.worker import DeliveryWorker
from bot.settings import load_settings
from tests import pg
from tests.support import ROOT
from tests.test_worker import make_record

pytestmark = pytest.mark.prod

SECTION = "## 7. Backups"


def backup_steps() -> List[str]:
    """The shell blocks of docs/deploy.md's backup section, in order."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def shell(script: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess:
    parts = urlsplit(database_url)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "DATABASE_URL": database_url,
           # where createdb, pg_restore and psql find the server the steps name only by database
           "PGHOST": parts.hostname or "", "PGPORT": str(parts.port), "PGUSER": parts.username or ""}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_dump_restored_as_the_guide_says_delivers_what_was_pending(postgres, tmp_path: Path):
    server = postgres
    dump_step, restore_step = backup_steps()
    assert "pg_dump" in dump_step and "pg_restore" in restore_step and "cosp_restore_test" in restore_step
    with pg.fresh_database(server.url) as live:
        store = make_engine(live)
        save_referral(store, make_record("COSP-BKUPA"), ("email",))
        store.dispose()
        dumped = shell(dump_step, live, tmp_path)
        assert dumped.returncode == 0, dumped.stderr
    dumps = sorted(tmp_path.glob("cosp-*.dump"))
    assert len(dumps) == 1

    restored = shell(restore_step.replace("cosp-YYYY-MM-DD.dump", dumps[0].name), server.url, tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert re.search(r"^\s*1 \|", restored.stdout, flags=re.M), restored.stdout  # count(*) of referrals
    restore_url = f"{server.url}/cosp_restore_test"
    try:
        engine = make_engine(restore_url)
        assert [job["status"] for job in list_deliveries(engine, "COSP-BKUPA")] == ["pending"]
        settings = load_settings({"COSP_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": restore_url})
        delivered = DeliveryWorker(engine, settings).run_once(now=datetime.now(timezone.utc) + timedelta(minutes=1))
        assert delivered == 1
        assert (tmp_path / "var" / "mail" / "COSP-BKUPA.eml").exists()
        assert [job["status"] for job in list_deliveries(engine, "COSP-BKUPA")] == ["sent"]
        assert get_referral(engine, "COSP-BKUPA")["answers"]  # every answer came back with it
        engine.dispose()
    finally:
        pg.drop_database(restore_url)
