"""Risk detection for the assistant, in plain Python (no Rasa here: bot/nlu_safety_net.py is the
thin adapter that puts it in the NLU pipeline)."""
from safety.detector import NO_RISK, OUTCOMES, SURE, UNSURE, Assessment, Detector, Thresholds
from safety.kinds import KINDS, LABELS

__all__ = ["Assessment", "Detector", "Thresholds", "KINDS", "LABELS", "OUTCOMES", "SURE", "UNSURE", "NO_RISK"]
