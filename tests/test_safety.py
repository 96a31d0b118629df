"""The safety package on its own (no Rasa): the phrase floor, the trained model, the parts of a long
message, look-alike cues and the three outcomes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from safety import NO_RISK, SURE, UNSURE, Detector, KINDS, corpus
from safety.kinds import NONE
from safety.model import RiskModel
from safety.text import parts

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]
RISK = [l.strip() for l in (DATA / "risk_messages.txt").read_text().splitlines() if l.strip()]
NOT_RISK = [l.strip() for l in (DATA / "non_risk_messages.txt").read_text().splitlines() if l.strip()]
PHRASES_ONLY = Detector(None)


def harmless_nlu_examples():
    """What the Rasa adapter adds when it trains: every non-safety NLU example, as harmless."""
    examples = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            if block.get("intent") and block["intent"] != "safety_risk":
                examples += [(NONE, line.strip()[2:]) for line in block["examples"].splitlines() if line.strip().startswith("- ")]
    return examples


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(RiskModel.train(corpus.load() + harmless_nlu_examples()))


@pytest.mark.parametrize("message", RISK)
def test_the_phrase_floor_catches_every_old_risk_wording_on_its_own(message):
    assert PHRASES_ONLY.assess(message).outcome == SURE


def test_every_old_risk_wording_is_sure_with_the_model_too(detector):
    missed = [m for m in RISK if detector.assess(m).outcome != SURE]
    assert not missed


def test_no_old_harmless_message_gets_the_safety_reply(detector):
    alarms = [m for m in NOT_RISK if detector.assess(m).outcome == SURE]
    assert not alarms


@pytest.mark.parametrize("message", ["MY BABY ISN’T BREATHING", "i shook him", "took 30 paracetamol, too many pills",
                                     "i want to hurt my baby", "he hits me", "i cant cope"])
def test_case_curly_quotes_and_short_forms(message):
    assert PHRASES_ONLY.assess(message).outcome == SURE


def test_a_disclosure_inside_a_question_is_read_on_its_own():
    text = ("Hi, I wanted to ask when the next group starts and whether it's at the family hub. "
            "My partner hits me when he's drunk. Also can my mum come with me?")
    assert text.split(". ")[1].lower().rstrip(".") in parts(text)
    assert PHRASES_ONLY.assess(text).outcome == SURE
    assert PHRASES_ONLY.assess(text).kinds[0] == "domestic_abuse"


def test_a_long_unpunctuated_message_is_read_in_windows():
    filler = "we have been really busy with visitors and the baby has been feeding well most days " * 3
    assert any(len(p.split()) <= 14 for p in parts(filler + "and i want to end my life"))


@pytest.mark.parametrize("message", ["what is shaken baby syndrome", "what are the signs of postnatal psychosis? asking for my leaflet"])
def test_asking_as_information_softens_a_phrase_match_to_unsure(message):
    assessment = PHRASES_ONLY.assess(message)
    assert assessment.outcome in (UNSURE, NO_RISK)
    assert "information" in assessment.cues or assessment.outcome == NO_RISK


def test_the_three_outcomes(detector):
    assert detector.assess("my baby has gone blue and floppy").outcome == SURE
    assert detector.assess("what is shaken baby syndrome").outcome == UNSURE
    assert detector.assess("how many sessions are there").outcome == NO_RISK
    assert detector.assess("").outcome == NO_RISK


def test_idioms_do_not_get_the_safety_reply(detector):
    for message in ["I could kill for a coffee", "dying to start the group", "my back is killing me"]:
        assert detector.assess(message).outcome != SURE, message


def test_each_kind_is_recognised_as_itself(detector):
    samples = {
        "suicide_self_harm": "i've been saving up my tablets",
        "baby_emergency": "my baby is not breathing",
        "domestic_abuse": "my husband hits me",
        "neglect": "the baby has had no milk all day",
    }
    for kind, message in samples.items():
        assert detector.assess(message).kinds[0] == kind, message


def test_the_model_survives_saving_and_loading(detector, tmp_path):
    detector.model.save(tmp_path / "m.pkl")
    again = RiskModel.load(tmp_path / "m.pkl")
    texts = ["i want to die", "when is the group"]
    assert again.scores(texts) == detector.model.scores(texts)


def test_the_corpus_is_large_and_covers_every_kind():
    examples = corpus.load()
    labels = [label for label, _ in examples]
    assert labels.count(NONE) >= 1500
    assert len(labels) - labels.count(NONE) >= 1500
    for kind in KINDS:
        assert labels.count(kind) >= 100, kind


def test_a_corpus_line_with_an_unknown_label_is_refused(tmp_path):
    (tmp_path / "bad.tsv").write_text("risky\tsomething\n")
    with pytest.raises(ValueError, match="bad.tsv:1"):
        corpus.load(tmp_path)


def test_the_safety_package_does_not_import_rasa():
    code = "import sys, safety, safety.model, safety.corpus; print('rasa' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_fast_scores_are_the_pipelines(detector):
    texts = ["i want to die", "when is the group", "my partner hits me and checks my phone", "x"]
    fast, slow = detector.model.scores(texts), detector.model.pipeline_scores(texts)
    for a, b in zip(fast, slow):
        assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-9 for k in a)


def test_the_direct_arithmetic_scores_every_message_as_the_vectorizers_do(detector):
    """Every wording the corpus, the blind sets and the test lists hold, part by part: the same scores
    to within rounding, so the same decisions."""
    blind = [line.split("\t")[-1] for f in sorted((ROOT / "tests" / "blind").glob("*.tsv"))
             for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [p for text in [t for _, t in corpus.load()] + blind + RISK + NOT_RISK + ["", "🙂", "Cześć"]
             for p in parts(text)] + ["", "zzzz"]
    model = detector.model
    direct, sparse = model.direct_scores(texts), model.scores(texts)
    assert len(texts) > 1000 and len(direct) == len(texts)
    assert max(abs(a[k] - b[k]) for a, b in zip(direct, sparse) for k in a) < 1e-12
