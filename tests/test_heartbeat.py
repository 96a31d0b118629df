"""`python -m bot.heartbeat NAME`: the probe for processes that serve no HTTP."""
from __future__ import annotations

import os
import time
from pathlib import Path

from bot import heartbeat


def test_fresh_stale_and_missing(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COSP_VAR_DIR", str(tmp_path))
    assert heartbeat.main(["worker"]) == 1
    assert "no heartbeat yet" in capsys.readouterr().out
    heartbeat.beat(tmp_path, "worker")
    assert heartbeat.main(["worker"]) == 0
    old = time.time() - 300
    os.utime(heartbeat.path(tmp_path, "worker"), (old, old))
    assert heartbeat.main(["worker"]) == 1
    assert "stale" in capsys.readouterr().out
    assert heartbeat.main(["worker", "--max-age", "600"]) == 0


def test_a_bad_setting_is_a_configuration_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COSP_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RETENTION_DAYS", "soon")
    assert heartbeat.main(["telegram"]) == 2
