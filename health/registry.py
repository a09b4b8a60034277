"""Where each app tells the core how to read its records as engine facts.

An app registers, in its AppConfig.ready(), a FactSource: `load(person_ids)` yields
(person_id, fact) pairs for a batch of persons with a bounded number of queries; optional
`persons_at(reach)` returns a queryset of person ids with a place (stay, hotel, origin) that the
engine's `Reach` of a risk designation covers (risk-area fan-out; health.facts.region_reach_q);
optional `holds(organisation, person_id)` tells whether that organisation keeps a record of
the person (who may read the person's status); optional `holds_queryset(organisation)` returns
a queryset of the person ids that organisation keeps records of (row-level scoping of persons).
A source may also split its `load` in two, `reads(person_ids)` (its `values_list` querysets) and
`facts(person_ids, rows)` (the facts from their rows): `facts_for` then sends every such source's
reads in one round trip (`bulk.rows_many`; on PostgreSQL their SQL compiled once per process,
`_compiled_reads`), which is most of a single person's recompute.

An app may also register a release effect: what recording a community's release of a managed
inbound case writes on that app's records (the communities app lifts the person's quarantines
there). The entrants app calls `inbound_release_effects(...)` inside its release transaction and
so never imports the app that owns those records.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import connections, router

from .engine.facts import FACT_FIELDS, PersonFacts
from .engine.regions import Reach


@dataclass(frozen=True)
class FactSource:
    name: str
    load: Callable[[Sequence[int]], Iterable[tuple[int, object]]]
    persons_at: Callable[[Reach], object] | None = None
    holds: Callable[[object, int], bool] | None = None
    holds_queryset: Callable[[object], object] | None = None
    reads: Callable[[Sequence[int]], list] | None = None
    facts: Callable[[Sequence[int], list[list[tuple]]], Iterable[tuple[int, object]]] | None = None


_sources: dict[str, FactSource] = {}


def register(source: FactSource) -> None:
    _sources[source.name] = source


def sources() -> list[FactSource]:
    return list(_sources.values())


def facts_for(person_ids: Sequence[int]) -> dict[int, PersonFacts]:
    """Every registered source's facts for a batch of persons, grouped into PersonFacts.

    The reads of the sources that declare them go to the database together, in the sources' order.
    """
    return facts_for_after([], person_ids)[1]


def facts_for_after(leading: Sequence, person_ids: Sequence[int]) -> tuple[list[list[tuple]], dict[int, PersonFacts]]:
    """`facts_for`, with the rows of `leading` querysets read first in the same round trip."""
    from . import bulk

    split = [source for source in _sources.values() if source.reads is not None and source.facts is not None]
    compiled = _compiled_reads(split, leading)
    if compiled is not None:
        alias, statements, spans = compiled
        ids = bulk.IdArray(person_ids).literal
        statements = [
            (sql, params) if position is None else (sql, (*params[:position], ids, *params[position + 1 :]))
            for sql, params, position in statements
        ]
        results = bulk.statements_rows(connections[alias], statements)
    else:
        querysets, spans = list(leading), []
        for source in split:
            reads = list(source.reads(person_ids))
            spans.append((source, len(querysets), len(reads)))
            querysets.extend(reads)
        results = bulk.rows_many(querysets)
    loaded = [source.facts(person_ids, results[start : start + count]) for source, start, count in spans]
    loaded += [source.load(person_ids) for source in _sources.values() if source not in split]
    # Only the kinds of facts a person has are collected; a person with none shares one empty PersonFacts.
    collected: dict[int, dict[str, list]] = defaultdict(dict)
    for pairs in loaded:
        for person_id, fact in pairs:
            collected[person_id].setdefault(FACT_FIELDS[type(fact)], []).append(fact)
    empty = PersonFacts()
    facts = {pk: empty for pk in person_ids}
    for pk, fields in collected.items():
        if pk in facts:
            facts[pk] = PersonFacts(**{name: tuple(items) for name, items in fields.items()})
    return results[: len(leading)], facts


# An id no table holds: the batch's ids are the one parameter of a source's reads that carries it.
_PROBE = -4_611_686_018_427_387_904
# Per database alias: the split sources, and their reads compiled once per process (None: not compilable).
_compiled: dict[str, tuple[list[FactSource], list | None]] = {}


def _compiled_reads(split: list[FactSource], leading: Sequence):
    """The statements of `leading` and of every split source's reads, with the sources' spans, on PostgreSQL.

    A source's reads are the same SQL for every batch but for the array of its ids (one parameter,
    `bulk.IdArray`): building and compiling their querysets was about half of a single person's
    recompute (cProfile, docs/scaling.md). They are compiled once per process and database, with a
    probe id marking the parameter that takes the batch's ids; what the probe cannot mark (another
    backend, a read whose ids are not exactly one parameter) is built per batch as before (None).
    """
    from . import bulk

    alias = router.db_for_read(None)
    if not bulk.is_postgresql(connections[alias]):
        return None
    kept = _compiled.get(alias)
    if kept is None or kept[0] != split:
        kept = _compiled[alias] = (list(split), _sources_compile(split))
    sources = kept[1]
    if sources is None:
        return None
    statements = [(*queryset.query.sql_with_params(), None) for queryset in leading]
    spans = []
    for source, compiled in sources:
        spans.append((source, len(statements), len(compiled)))
        statements.extend(compiled)
    return alias, statements, spans


def _sources_compile(split: list[FactSource]) -> list[tuple[FactSource, list[tuple[str, tuple, int]]]] | None:
    from . import bulk

    probe = bulk.IdArray([_PROBE]).literal
    sources = []
    for source in split:
        statements = []
        for queryset in source.reads([_PROBE]):
            sql, params = queryset.query.sql_with_params()
            positions = [index for index, param in enumerate(params) if param == probe]
            if len(positions) != 1:
                return None  # not a statement of one array of ids: built per batch
            statements.append((sql, tuple(params), positions[0]))
        sources.append((source, statements))
    return sources


# --- effects of a community's release of an inbound case ---------------------------------------
# effect(*, actor, person, community, released_at): runs inside the release's transaction, writes
# its own records through its own services and marks the persons it touched dirty.
_release_effects: dict[str, Callable[..., object]] = {}


def register_release_effect(name: str, effect: Callable[..., object]) -> None:
    _release_effects[name] = effect


def inbound_release_effects(*, actor, person, community, released_at) -> None:
    """Apply every registered effect of a release being recorded (status-rules.md, Releases)."""
    for effect in _release_effects.values():
        effect(actor=actor, person=person, community=community, released_at=released_at)


def organisation_holds(organisation, person_id: int) -> bool:
    """Whether any app keeps a record of this person for this organisation."""
    return any(source.holds is not None and source.holds(organisation, person_id) for source in _sources.values())


# --- feed kinds ------------------------------------------------------------------------------------
# A kind of department file (health.feeds.FeedKind: its row validator and its writers), by name.
# The core registers its own (stays, designations, risk areas); an app registers its kind in its
# AppConfig.ready() (the entrants app: the border-control feed), so that the core imports no app.
_feed_kinds: dict[str, object] = {}


def register_feed(kind) -> None:
    _feed_kinds[kind.name] = kind


def feed_kind(name: str):
    """The registered feed kind of that name, or None."""
    return _feed_kinds.get(name)


def feed_kind_names() -> list[str]:
    return list(_feed_kinds)
