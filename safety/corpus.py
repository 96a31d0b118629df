"""The risk corpus: tab-separated `label<TAB>text` files in safety/corpus/, written by several
writers with different briefs (see safety/corpus/README.md)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, List, Tuple

from safety.kinds import KINDS, NONE

CORPUS = Path(__file__).resolve().parent / "corpus"
LABELS = {*KINDS, NONE}


def load(folder: Path = CORPUS) -> List[Tuple[str, str]]:
    examples: List[Tuple[str, str]] = []
    for path in sorted(folder.glob("*.tsv")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            label, _, text = line.partition("\t")
            if label not in LABELS or not text.strip():
                raise ValueError(f"{path.name}:{number}: expected <label>\\t<text> with label in {sorted(LABELS)}")
            examples.append((label, text.strip()))
    return examples


def fingerprint(folder: Path = CORPUS, extra: Iterable[Path] = ()) -> str:
    digest = hashlib.sha256()
    for path in [*sorted(folder.glob("*.tsv")), *extra]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
