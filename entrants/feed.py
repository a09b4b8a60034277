"""The border-control feed: a kind of the core's feed framework (health.feeds), registered in EntrantsConfig.ready.

Rows carry the API's create fields flat (name, id_number, entered_country_on, port,
origin_country, community_code, quarantine_ended_at, entered_city_on) and are checked one by one
by the API's own serializer (`EntrantRows`, the one place that knows this feed's columns), then
against each other and what is stored; the framework reads the file (CSV or JSON lines, UTF-8 or
GB18030), enforces the size limits and reports. Any bad row rejects the whole file with a report
of line numbers and reasons; the report never repeats an ID number.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from entrants import services
from entrants.api.serializers import InboundCaseCreateInput
from entrants.models import InboundCase
from health import feeds
from health.feeds import FeedRejected, format_of_media_type, format_of_name  # noqa: F401 - this feed's API
from health.identity import document_of, name_key, name_normalise
from health.models import Organisation, Person

FORMATS = feeds.FORMATS
# A file names persons by `id_number`, or by the document columns (`document_number`), or both.
REQUIRED = ("name", "id_number|document_number", "entered_country_on", "port", "origin_country")
OPTIONAL = ("community_code", "quarantine_ended_at", "entered_city_on")
# Travellers by passport or permit (docs/identity.md): `document_number` in place of `id_number`.
DOCUMENT = ("document_type", "document_number", "nationality", "birth_date")
FIELDS = ("name", "id_number", "entered_country_on", "port", "origin_country") + OPTIONAL + DOCUMENT
MAX_ROWS = 10_000
MAX_BYTES = 8 * 1024 * 1024
TOO_LARGE = _("文件过大：每个文件最多 10000 行、8 MB，请分批导入。")
_blank_to_none = feeds.blank_to_none


def _plain(errors) -> dict:
    """DRF's nested errors flattened to the feed's column names, as plain strings."""
    flat: dict[str, list[str]] = {}

    def walk(value, field):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, field if key == "non_field_errors" and field else key)
        elif isinstance(value, list | tuple):
            for inner in value:
                walk(inner, field)
        else:
            flat.setdefault(field or "non_field_errors", []).append(str(value))

    walk(errors, None)
    return flat


def _scrub(errors: dict[str, list[str]], row: dict) -> dict[str, list[str]]:
    """No message may carry the row's ID number, whatever column it was typed into."""
    secrets = {str(value).strip() for value in row.values() if value is not None and len(str(value).strip()) >= 6}
    for column in ("id_number", "document_number"):
        number = str(row.get(column) or "").strip()
        if number:
            secrets.add(number)
    scrubbed = {}
    for field, messages in errors.items():
        cleaned = []
        for message in messages:
            for secret in secrets:
                if secret in ("", None) or not any(ch.isdigit() for ch in secret):
                    continue
                message = message.replace(secret, "***")
            cleaned.append(message)
        scrubbed[field] = cleaned
    return scrubbed


class EntrantRows(feeds.SerializerRows):
    """One border-control row: the API's create serializer on the row's fields (a new column goes here)."""

    columns = FIELDS
    required = REQUIRED
    serializer_class = InboundCaseCreateInput

    @classmethod
    def context_load(cls) -> frozenset[str]:
        """The communities' codes, which a row's community_code must be one of."""
        return frozenset(
            Organisation.objects.filter(kind=Organisation.Kind.COMMUNITY).values_list("code", flat=True)
        )

    def serializer_context(self) -> dict:
        return {"communities": self.context}

    def payload(self, values: dict) -> dict:
        person = {"name": values.get("name"), "id_number": values.get("id_number")}
        for field in DOCUMENT:
            if _blank_to_none(values.get(field)) is not None:
                person[field] = values[field]
        if "document_number" in person and _blank_to_none(person["id_number"]) is None:
            del person["id_number"]  # a passport row: the document columns name the person
        payload = {
            "person": person,
            "entered_country_on": values.get("entered_country_on"),
            "port": values.get("port"),
            "origin_country": values.get("origin_country"),
        }
        for field in OPTIONAL:
            payload[field] = _blank_to_none(values.get(field))
        return {key: value for key, value in payload.items() if value is not None}

    def unreadable(self, line: int, message: str) -> None:
        super().unreadable(line, message)
        self.rejected[line] = _scrub(self.rejected[line], {"__error__": message})

    def row(self, line: int, values: dict) -> None:
        self.raw = values
        super().row(line, values)
        if line in self.rejected:
            self.rejected[line] = _scrub(self.rejected[line], values)

    def errors(self, detail) -> dict[str, list[str]]:
        return _plain(detail)

    def valid(self, line: int, data: dict) -> tuple[services.FeedRow, dict]:
        row = services.FeedRow(
            line=line,
            name=name_normalise(data["person"]["name"]),
            id_number=data["person"]["id_number"],
            entered_country_on=data["entered_country_on"],
            port=data["port"],
            origin_country=data["origin_country"],
            community_code=data.get("community_code"),
            quarantine_ended_at=data.get("quarantine_ended_at"),
            entered_city_on=data.get("entered_city_on"),
        )
        return row, self.raw

    @classmethod
    def finish(cls, kept: list[tuple[services.FeedRow, dict]], context) -> dict[int, dict[str, list[str]]]:
        raw = {row.line: values for row, values in kept}
        return {line: _scrub(errors, raw[line]) for line, errors in _cross_check([row for row, _raw in kept]).items()}


def _cross_check(rows: list[services.FeedRow]) -> dict[int, dict[str, list[str]]]:
    """Rows that are valid alone but not together, or not with what is already stored."""
    errors: dict[int, dict[str, list[str]]] = {}

    def add(line, field, message):
        errors.setdefault(line, {}).setdefault(field, []).append(str(message))

    # The serializer already returned canonical numbers (or Documents): hash, do not validate again.
    digests = {row.line: document_of(row.id_number).digest for row in rows}
    first_name: dict[str, tuple[int, str]] = {}
    first_entry: dict[tuple[str, object], int] = {}
    for row in rows:
        digest = digests[row.line]
        seen = first_name.setdefault(digest, (row.line, row.name))
        if name_key(seen[1]) != name_key(row.name):
            add(row.line, "name", _("同一身份证号码在第 %(line)s 行的姓名不同。") % {"line": seen[0]})
        key = (digest, row.entered_country_on)
        earlier = first_entry.setdefault(key, row.line)
        if earlier != row.line:
            add(row.line, "entered_country_on", _("与第 %(line)s 行重复（同一人同一入境日期）。") % {"line": earlier})
    known = dict(Person.objects.filter(id_digest__in=set(digests.values())).values_list("id_digest", "name"))
    stored = {
        (digest, entered_on): (released_at, community)
        for digest, entered_on, released_at, community in InboundCase.objects.filter(
            person__id_digest__in=set(digests.values())
        ).values_list("person__id_digest", "entered_country_on", "released_at", "managing_community__code")
    }
    for row in rows:
        digest = digests[row.line]
        if digest in known and name_key(known[digest]) != name_key(row.name):
            add(row.line, "name", _("该身份证号码已登记为另一姓名。"))
        released_at, community = stored.get((digest, row.entered_country_on), (None, None))
        if released_at is not None and row.community_code and row.community_code != community:
            add(row.line, "community_code", _("已解除观察的入境人员不能变更管理社区。"))
    return errors


# --- the whole import -----------------------------------------------------------------------
def _write(kept: list[tuple[services.FeedRow, dict]], actor) -> dict:
    """The inbound cases table (and the persons they name), through the app's service, in one transaction."""
    return {"rows": services.inbound_import(actor=actor, rows=[row for row, _raw in kept])}


KIND = feeds.FeedKind(
    name="entrants",
    validator=EntrantRows,
    write=_write,
    authorise=services.recording_border,
    max_bytes=MAX_BYTES,
    max_rows=MAX_ROWS,
    too_large=TOO_LARGE,
    capped=False,
)


def feed_import(*, actor, content: bytes, feed_format: str) -> int:
    """Check every row, then write them all in one transaction; the number of rows written."""
    return feeds.feed_import(kind=KIND.name, content=content, feed_format=feed_format, actor=actor)["rows"]
