"""GB/T 2260 region-code arithmetic and risk lookups, as defined in status-rules.md ("Regions", "Risk").

Pure functions of the codes: no table is needed to tell a province from a city or who contains whom.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from .facts import RiskFact

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
# GB/T 2260 has a few thousand codes: remembering each answer makes the arithmetic free after the first use.
_memo = lru_cache(maxsize=16384)


@_memo
def normalize(code: str) -> str:
    """Fold a municipality's XX0100 / XX0200 into its synonym XX0000."""
    if code[:2] in MUNICIPALITIES and code[2:] in ("0100", "0200"):
        return code[:2] + "0000"
    return code


@_memo
def city_of(code: str) -> str:
    """The prefecture-level city of a code (status-rules.md: "A code's city")."""
    code = normalize(code)
    province = code[:2]
    if code[2:] == "0000":
        return code
    if province in MUNICIPALITIES:
        return province + "0000"
    if code[4:] == "00":
        return code
    if code[2:4] == "90":  # a county-level city governed directly by its province
        return code
    return code[:4] + "00"


@_memo
def significant_prefix(code: str) -> str:
    code = normalize(code)
    if code[2:] == "0000":
        return code[:2]
    if code[4:] == "00":
        return code[:4]
    return code


def contains(outer: str, inner: str) -> bool:
    """Region `outer` contains `inner` (a region contains itself)."""
    return normalize(inner).startswith(significant_prefix(outer))


def province_of(code: str) -> str:
    return code[:2]


def overlaps(risk: RiskFact, start: datetime, end: datetime) -> bool:
    """The closed interval [start, end] meets the half-open [effective_from, effective_to)."""
    return risk.effective_from <= end and (risk.effective_to is None or start < risk.effective_to)


class RiskAreas:
    """Risk designations indexed by province: any designation relevant to a place shares its province.

    One instance serves a whole batch of persons, so the designations relevant to each place are
    worked out once and remembered (the object is immutable; the memo only grows with the places seen).
    """

    __slots__ = ("_by_province", "_relevant")

    def __init__(self, risks: Iterable[RiskFact] = ()) -> None:
        by_province: dict[str, list[RiskFact]] = defaultdict(list)
        for risk in risks:
            by_province[province_of(risk.region)].append(risk)
        self._by_province = {province: tuple(items) for province, items in by_province.items()}
        self._relevant: dict[tuple[str, str], tuple[RiskFact, ...]] = {}

    @classmethod
    def of(cls, risks: RiskAreas | Iterable[RiskFact]) -> RiskAreas:
        return risks if isinstance(risks, RiskAreas) else cls(risks)

    def candidates(self, place: str) -> tuple[RiskFact, ...]:
        return self._by_province.get(province_of(place), ())

    def relevant(self, place: str, home_region: str) -> tuple[RiskFact, ...]:
        """The designations whose region makes `place` risky when they are in force."""
        key = (place, home_region)
        found = self._relevant.get(key)
        if found is None:
            found = self._relevant[key] = self._find_relevant(place, home_region)
        return found

    def _find_relevant(self, place: str, home_region: str) -> tuple[RiskFact, ...]:
        candidates = self.candidates(place)
        if not candidates:
            return ()
        if contains(home_region, place):
            # At home only a designation containing the place as given reaches it.
            return tuple(risk for risk in candidates if contains(risk.region, place))
        city = city_of(place)
        return tuple(risk for risk in candidates if contains(risk.region, city) or contains(city, risk.region))

    def is_risky(self, place: str, start: datetime, end: datetime, home_region: str) -> bool:
        return any(overlaps(risk, start, end) for risk in self.relevant(place, home_region))
