"""Model validation without the round trips whose answer is already in hand (docs/scaling.md,
"The API write's round trips").

Django's `full_clean()` asks the database twice where it need not: a foreign key is checked with
`SELECT 1 ... LIMIT 1` even when the related row was just loaded or created in this transaction,
and each `CheckConstraint` is evaluated by a query in a savepoint of its own (three round trips
each). `RecordValidation`, mixed into a model, keeps `full_clean()` as it is (same fields, same
errors, same order) and answers those two from memory:

- a foreign key whose related object is loaded on the instance (saved, its key the stored value) is
  checked for everything but the row's existence, its `limit_choices_to` on the loaded object (when
  that is a condition this module evaluates, below; else Django asks the database): the row was read
  or written in this request, and the database's own foreign key refuses a missing one anyway;
- a check constraint made only of comparisons of the instance's own fields with each other or with
  constants (`isnull`, `exact`, `in`, `<`, `<=`, `>`, `>=` on numbers, dates and times, equality on
  text), `&`, `|` and `~`, is evaluated in Python with SQL's three-valued logic (NULL passes, as in
  the database and in Django's own check). Any other constraint (an expression, a join, ordering of
  text whose collation only the database knows) is validated by Django as before. The constraints
  themselves stay in the database; tests/health/test_validation.py compares both answers for every
  check constraint of every model on their boundaries.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, router
from django.db.models import F, Q, Value
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import DatabaseDefault

_UNKNOWN = object()  # a condition this module does not evaluate: the database is asked
_ORDERED = (int, float, decimal.Decimal, datetime.date, datetime.datetime, datetime.time, datetime.timedelta)
_COMPARISONS = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def loaded_relations(instance: models.Model) -> set[str]:
    """Names of the foreign keys whose related object is on the instance, saved, and is the one its key names."""
    names = set()
    for field in instance._meta.concrete_fields:
        if not (field.many_to_one or field.one_to_one) or not field.is_cached(instance):
            continue
        related = field.get_cached_value(instance)
        if related is None or related._state.adding or related._state.db is None:
            continue
        if field.get_limit_choices_to() and _limit_holds(field, related) is _UNKNOWN:
            continue
        if getattr(related, field.target_field.attname) != getattr(instance, field.attname):
            continue
        names.add(field.name)
    return names


def _limit_holds(field, related: models.Model):
    """Whether the loaded related object meets the key's `limit_choices_to` (True/False), or _UNKNOWN."""
    limit = field.get_limit_choices_to()
    if isinstance(limit, dict):
        limit = Q(**limit)
    if not isinstance(limit, Q):
        return _UNKNOWN
    return condition_holds(limit, related)


def condition_holds(condition: Any, instance: models.Model) -> bool | None | object:
    """True, False or None (SQL NULL) for a condition over the instance's own fields; _UNKNOWN otherwise."""
    if isinstance(condition, Q):
        results = []
        for child in condition.children:
            if isinstance(child, Q):
                result = condition_holds(child, instance)
            elif isinstance(child, tuple) and len(child) == 2:
                result = _lookup_holds(child[0], child[1], instance)
            else:
                return _UNKNOWN
            if result is _UNKNOWN:
                return _UNKNOWN
            results.append(result)
        combined = _all(results) if condition.connector == Q.AND else _any(results)
        if condition.negated:
            return None if combined is None else not combined
        return combined
    return _UNKNOWN


def _all(results: list) -> bool | None:
    if any(result is False for result in results):
        return False
    return None if any(result is None for result in results) else True


def _any(results: list) -> bool | None:
    if any(result is True for result in results):
        return True
    return None if any(result is None for result in results) else False


def _field_value(instance: models.Model, name: str):
    """The value of a local concrete field (by name or attname), or _UNKNOWN."""
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist:
        return _UNKNOWN, None
    if not getattr(field, "concrete", False) or field.many_to_many or getattr(field, "generated", False):
        return _UNKNOWN, None
    value = getattr(instance, field.attname)
    if isinstance(value, DatabaseDefault):  # an unsaved instance's column left to its database default
        default = field.db_default
        if isinstance(default, Value):
            value = default.value
        elif hasattr(default, "resolve_expression"):
            return _UNKNOWN, None
        else:
            value = default
    return value, field


def _lookup_holds(path: str, rhs: Any, instance: models.Model):
    parts = path.split(LOOKUP_SEP)
    if len(parts) == 1:
        name, lookup = parts[0], "exact"
    elif len(parts) == 2:
        name, lookup = parts
    else:
        return _UNKNOWN
    value, field = _field_value(instance, name)
    if value is _UNKNOWN:
        return _UNKNOWN
    if lookup == "isnull":
        return (value is None) == rhs if isinstance(rhs, bool) else _UNKNOWN
    if isinstance(rhs, F):
        other, other_field = _field_value(instance, rhs.name)
        if other is _UNKNOWN:
            return _UNKNOWN
    elif hasattr(rhs, "resolve_expression"):
        return _UNKNOWN
    else:
        other = rhs
    if lookup == "exact":
        if other is None:  # Django turns `field=None` into IS NULL
            return value is None
        if value is None:
            return None
        return _equal(value, other)
    if lookup == "in":
        if isinstance(rhs, F) or not isinstance(other, list | tuple | set | frozenset):
            return _UNKNOWN
        candidates = [candidate for candidate in other if candidate is not None]
        if value is None:
            return None
        results = [_equal(value, candidate) for candidate in candidates]
        return _UNKNOWN if _UNKNOWN in results else any(results)
    if lookup in _COMPARISONS:
        if value is None or other is None:
            return None
        if not (isinstance(value, _ORDERED) and isinstance(other, _ORDERED)):
            return _UNKNOWN  # text ordering is the database's collation's
        if isinstance(value, bool) or isinstance(other, bool):
            return _UNKNOWN
        if isinstance(value, datetime.datetime) != isinstance(other, datetime.datetime):
            return _UNKNOWN
        try:
            return _COMPARISONS[lookup](value, other)
        except TypeError:
            return _UNKNOWN
    return _UNKNOWN


def _equal(value, other):
    """Python's == where it is the database's: text with text, booleans with booleans, numbers, dates and times."""
    if isinstance(value, bool) or isinstance(other, bool):
        return value == other if isinstance(value, bool) and isinstance(other, bool) else _UNKNOWN
    if isinstance(value, str) or isinstance(other, str):
        return value == other if isinstance(value, str) and isinstance(other, str) else _UNKNOWN
    if isinstance(value, _ORDERED) and isinstance(other, _ORDERED):
        if isinstance(value, datetime.datetime) != isinstance(other, datetime.datetime):
            return _UNKNOWN
        try:
            return value == other
        except TypeError:
            return _UNKNOWN
    return _UNKNOWN


def _condition_fields(condition: Q) -> set[str]:
    names = set()
    for child in condition.children:
        if isinstance(child, Q):
            names |= _condition_fields(child)
        else:
            names.add(child[0].split(LOOKUP_SEP)[0])
            if isinstance(child[1], F):
                names.add(child[1].name)
    return names


def _field_names(instance: models.Model, names: set[str]) -> set[str]:
    """Attnames given as field names (`person_id` -> `person`), as full_clean's exclude names them."""
    out = set()
    for name in names:
        try:
            out.add(instance._meta.get_field(name).name)
        except FieldDoesNotExist:
            out.add(name)
    return out


class RecordValidation:
    """A model mixin: `full_clean()` without re-reading loaded foreign keys or querying simple check constraints."""

    def clean_fields(self, exclude=None):
        exclude = set(exclude or ())
        loaded = loaded_relations(self) - exclude
        errors: dict = {}
        try:
            super().clean_fields(exclude=exclude | loaded)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        for name in sorted(loaded):
            field = self._meta.get_field(name)
            value = getattr(self, field.attname)
            try:
                # Everything ForeignKey.validate checks but the row's existence: null, blank, choices, validators.
                models.Field.validate(field, value, self)
                field.run_validators(value)
                if field.get_limit_choices_to() and _limit_holds(field, field.get_cached_value(self)) is not True:
                    raise ValidationError(
                        field.error_messages["invalid"],
                        code="invalid",
                        params={
                            "model": field.remote_field.model._meta.verbose_name,
                            "pk": value,
                            "field": field.remote_field.field_name,
                            "value": value,
                        },
                    )
            except ValidationError as error:
                errors[field.name] = error.error_list
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude=None):
        exclude = set(exclude or ())
        using = router.db_for_write(self.__class__, instance=self)
        errors: dict = {}
        for model_class, constraints in self.get_constraints():
            for constraint in constraints:
                try:
                    if isinstance(constraint, models.CheckConstraint):
                        self._check_constraint_validate(model_class, constraint, exclude, using)
                    else:
                        constraint.validate(model_class, self, exclude=exclude, using=using)
                except ValidationError as error:
                    if getattr(error, "code", None) == "unique" and len(getattr(constraint, "fields", ())) == 1:
                        errors.setdefault(constraint.fields[0], []).append(error)
                    else:
                        errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _check_constraint_validate(self, model_class, constraint, exclude, using) -> None:
        condition = constraint.condition
        holds = condition_holds(condition, self)
        if holds is _UNKNOWN:
            constraint.validate(model_class, self, exclude=exclude, using=using)
            return
        if exclude and _field_names(self, _condition_fields(condition)) & exclude:
            return  # as Django: a constraint on a field that failed (or was excluded) is not checked
        if holds is False:
            raise ValidationError(constraint.get_violation_error_message(), code=constraint.violation_error_code)
