"""GB/T 2260 region-code arithmetic and risk lookups, as defined in status-rules.md ("Regions", "Risk").

Pure functions of the codes: no table is needed to tell a province from a city or who contains whom.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
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


def _synonyms(code: str) -> tuple[str, ...]:
    """Every code that folds to `code` (a municipality's XX0000 is also written XX0100 and XX0200)."""
    if code[:2] in MUNICIPALITIES and code[2:] == "0000":
        return (code, code[:2] + "0100", code[:2] + "0200")
    return (code,)


def _places_of_city(city: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(prefixes, exact codes) of every place whose city (`city_of`) is `city`: the inverse of city_of."""
    province = city[:2]
    if city[2:] == "0000":
        # A municipality is the city of each of its codes; elsewhere a province is the city of
        # itself and of the odd XX00YY county coded directly under it (Hainan's old 4600YY).
        return ((province,), ()) if province in MUNICIPALITIES else ((province + "00",), ())
    if city[4:] == "00" and city[2:4] != "90":
        return ((city[:4],), ())
    # XX9000 and XX90YY: each is the city of itself alone (XX90YY is governed by its province).
    return ((), (city,))


@dataclass(frozen=True, slots=True)
class Reach:
    """The place codes a risk designation of one region can make risky (status-rules.md, "Risk").

    A place is reached when its code is in `exact`, or starts with the first of a pair in `prefixes`
    and not with its second (an empty second excludes nothing). Codes are matched as written, so a
    database can select the same places with range conditions: synonyms are listed in `exact`.
    Every prefix and code lies in the designated region's province.
    """

    prefixes: tuple[tuple[str, str], ...] = ()
    exact: frozenset[str] = frozenset()

    def covers(self, place: str) -> bool:
        if place in self.exact:
            return True
        return any(place.startswith(prefix) and not (but and place.startswith(but)) for prefix, but in self.prefixes)


@lru_cache(maxsize=16384)
def risk_reach(region: str, home_region: str) -> Reach:
    """Which places a designation of `region` reaches under HOME_REGION `home_region`: the one answer.

    The engine asks it whether a place is risky (RiskAreas), and the fan-out selects the persons to
    recompute with it, so the two cannot disagree. Outside the home region a place is reached when
    the region contains the place's city or is contained by it; inside, when the region contains
    the place as given.
    """
    code = normalize(region)
    own = significant_prefix(code)
    home = significant_prefix(home_region)
    # Outside home: the cities the region contains (those starting with its prefix), and the
    # cities containing it (its province, its prefecture, itself), each with all the places it is
    # the city of.
    prefixes: set[str] = set()
    exact: set[str] = set()
    if len(own) < 6:
        # Every place under a province or prefecture has its city under it too (a municipality's
        # XXYY00 reaches the whole municipality below, through the city containing it).
        prefixes.add(own)
    elif city_of(code) == code:
        exact.add(code)
    for city in {code[:2] + "0000", code[:4] + "00", code}:
        if city_of(city) == city and code.startswith(significant_prefix(city)):
            found_prefixes, found_exact = _places_of_city(city)
            prefixes.update(found_prefixes)
            exact.update(found_exact)
    # Places at home are reached only by a region containing them as given.
    pairs: set[tuple[str, str]] = set()
    if own.startswith(home) or home.startswith(own):
        pairs.add((max(own, home, key=len), ""))
    for prefix in prefixes:
        if prefix.startswith(home):
            continue
        pairs.add((prefix, home if home.startswith(prefix) else ""))
    if (home, "") in pairs:
        # Home reached as a whole: a prefix that only left home out takes it back.
        pairs = {(prefix, "" if but == home else but) for prefix, but in pairs}
    pairs = {(prefix, but) for prefix, but in pairs if not _under(prefix, pairs - {(prefix, but)})}
    codes = {
        synonym
        for place in exact
        if not normalize(place).startswith(home)
        for synonym in _synonyms(place)
        if not any(synonym.startswith(prefix) and not (but and synonym.startswith(but)) for prefix, but in pairs)
    }
    return Reach(tuple(sorted(pairs)), frozenset(codes))


def _under(prefix: str, others: set[tuple[str, str]]) -> bool:
    """Whether every code starting with `prefix` is already reached through one of `others`."""
    return any(prefix.startswith(other) and not (but and (prefix.startswith(but) or but.startswith(prefix))) for other, but in others)


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
        # A designation reaches only places of its own province (Reach), so the province's list is all.
        return tuple(risk for risk in self.candidates(place) if risk_reach(risk.region, home_region).covers(place))

    def is_risky(self, place: str, start: datetime, end: datetime, home_region: str) -> bool:
        return any(overlaps(risk, start, end) for risk in self.relevant(place, home_region))

    def risks(self, place: str, start: datetime, end: datetime, home_region: str) -> tuple[RiskFact, ...]:
        """The designations that make `place` risky for [start, end] (those `is_risky` finds), earliest first."""
        found = (risk for risk in self.relevant(place, home_region) if overlaps(risk, start, end))
        return tuple(sorted(found, key=lambda risk: (risk.effective_from, risk.region, risk.level)))
