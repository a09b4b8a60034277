"""health.validation answers as the database does: every check constraint of every model, on its boundaries,
and a foreign key is re-read only when its object is not in hand."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from health.models import Designation, Organisation, Person
from health.validation import _UNKNOWN, condition_holds
from tests import factories

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
DAY = date(2026, 5, 1)


def _candidates(field: models.Field) -> list:
    values: list = [None] if field.null else []
    if isinstance(field, models.DateTimeField):
        values += [MOMENT, MOMENT - timedelta(microseconds=1), MOMENT + timedelta(seconds=1)]
    elif isinstance(field, models.DateField):
        values += [DAY, DAY - timedelta(days=1), DAY + timedelta(days=1)]
    elif isinstance(field, models.ForeignKey):
        values += [1]
    elif isinstance(field, models.BooleanField):
        values += [True, False]
    elif isinstance(field, models.IntegerField):
        values += [-1, 0, 1]
    elif isinstance(field, models.CharField):
        values += ["", "x", *[value for value, _label in field.choices or []]]
    else:
        values += [None]
    return values


def _check_constraints():
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.CheckConstraint):
                yield pytest.param(model, constraint, id=f"{model._meta.label}.{constraint.name}")


def _names(condition) -> list[str]:
    names = []
    for child in condition.children:
        if isinstance(child, models.Q):
            names += _names(child)
        else:
            names.append(child[0].split("__")[0])
            if isinstance(child[1], models.F):
                names.append(child[1].name)
    return sorted(set(names))


@pytest.mark.parametrize("model, constraint", list(_check_constraints()))
def test_every_check_constraint_is_answered_in_python_as_the_database_answers_it(model, constraint):
    fields = [model._meta.get_field(name) for name in _names(constraint.condition)]
    evaluated = 0
    for values in itertools.product(*(_candidates(field) for field in fields)):
        instance = model()
        for field, value in zip(fields, values, strict=True):
            setattr(instance, field.attname, value)
        in_python = condition_holds(constraint.condition, instance)
        if in_python is _UNKNOWN:
            continue  # left to the database, as Django does
        evaluated += 1
        try:
            models.CheckConstraint.validate(constraint, model, instance)
        except ValidationError:
            by_database = False
        else:
            by_database = True
        # NULL passes a check, in the database and here
        assert (in_python is not False) == by_database, (values, in_python)
    if model._meta.label != "hotels.NucleicAcidTest" or constraint.name != "nat_sampled_not_after_recorded":
        assert evaluated, "this constraint is no longer evaluated in Python: say so in docs/scaling.md"


def test_an_expression_is_left_to_the_database():
    from hotels.models import NucleicAcidTest

    constraint = next(c for c in NucleicAcidTest._meta.constraints if c.name == "nat_sampled_not_after_recorded")
    assert condition_holds(constraint.condition, NucleicAcidTest(sampled_at=MOMENT, recorded_at=MOMENT)) is _UNKNOWN


def test_a_designation_is_validated_without_a_query_when_its_relations_are_loaded():
    person = Person.objects.create(name="张三", id_digest="d" * 64, id_masked="110105********0037")
    department = Organisation.objects.get(kind="health", code="health")
    user = factories.staff(organisation=department)
    designation = Designation(
        person=person, kind="confirmed", designated_at=MOMENT, organisation=department, created_by=user
    )
    with CaptureQueriesContext(connection) as captured:
        designation.full_clean()
    assert captured.captured_queries == []
    # and a clearance before the designation is refused by the constraint's own message, still without a query
    designation.cleared_at = MOMENT - timedelta(hours=1)
    with CaptureQueriesContext(connection) as captured, pytest.raises(ValidationError) as refused:
        designation.full_clean()
    assert captured.captured_queries == []
    assert "designation_cleared_after_designated" in str(refused.value)


def test_a_key_given_as_a_number_is_still_checked_in_the_database():
    department = Organisation.objects.get(kind="health", code="health")
    designation = Designation(person_id=987654, kind="confirmed", designated_at=MOMENT, organisation=department)
    with pytest.raises(ValidationError) as refused:
        designation.full_clean()
    assert set(refused.value.message_dict) == {"person"}


def test_a_loaded_organisation_of_another_kind_is_refused_where_the_key_is_limited_to_communities():
    from communities.models import QuarantineRecord

    person = Person.objects.create(name="张三", id_digest="e" * 64, id_masked="110105********0037")
    hotel = factories.organisation("hotel", "H-9")
    record = QuarantineRecord(person=person, community=hotel, kind="home", started_at=MOMENT)
    with CaptureQueriesContext(connection) as captured, pytest.raises(ValidationError) as refused:
        record.full_clean()
    assert set(refused.value.message_dict) == {"community"}
    assert not any('FROM "health_organisation"' in query["sql"] for query in captured.captured_queries)
