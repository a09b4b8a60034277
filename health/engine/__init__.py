"""The status engine: a pure function of (facts, now, policy) -> Decision. No ORM, clock or settings."""
from .facts import (
    CheckInFact,
    Decision,
    DeclarationFact,
    DesignationFact,
    Evidence,
    InboundCaseFact,
    NatTestFact,
    PersonFacts,
    Policy,
    QuarantineFact,
    RiskFact,
    Status,
    StayFact,
)
from .regions import RiskAreas
from .rules import evaluate, explain

__all__ = [
    "CheckInFact",
    "Decision",
    "DeclarationFact",
    "DesignationFact",
    "Evidence",
    "InboundCaseFact",
    "NatTestFact",
    "PersonFacts",
    "Policy",
    "QuarantineFact",
    "RiskAreas",
    "RiskFact",
    "Status",
    "StayFact",
    "evaluate",
    "explain",
]
