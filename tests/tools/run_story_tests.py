"""Runs the Rasa test stories against the trained model; any failed story fails the build."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    out = ROOT / "results" / "stories"
    command = [
        str(Path(sys.executable).parent / "rasa"), "test", "core",
        "--model", str(ROOT / "models" / "cosp.tar.gz"),
        "--stories", str(ROOT / "tests" / "test_stories.yml"),
        "--out", str(out), "--fail-on-prediction-errors", "--no-plot",
    ]
    code = subprocess.call(command, cwd=ROOT)
    failed = out / "failed_test_stories.yml"
    if failed.exists() and "stories:" in failed.read_text() and "story:" in failed.read_text():
        print(failed.read_text())
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
