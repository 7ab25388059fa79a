"""Rule-based urgent-care triage: a case in, the next question or an outcome out."""
from triage.engine import Engine
from triage.errors import CaseError, RuleFileError
from triage.loader import load_rules
from triage.model import (
    Case,
    Complaint,
    Disposition,
    Outcome,
    Question,
    RuleSet,
)
from triage.matching import ComplaintMatch, match_complaint, match_complaints, tied

__all__ = [
    "Case", "CaseError", "Complaint", "ComplaintMatch", "Disposition", "Engine", "Outcome",
    "Question", "RuleFileError", "RuleSet", "load_rules", "match_complaint", "match_complaints", "tied",
]
