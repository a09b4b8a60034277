"""The border-control feed: CSV or JSON lines, every row validated first, then all written or none.

Rows carry the API's create fields flat (name, id_number, entered_country_on, port,
origin_country, community_code, quarantine_ended_at, entered_city_on) and are validated by the
API's own serializer. Any bad row rejects the whole file with a report of line numbers and
reasons; the report never repeats an ID number.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from entrants import services
from entrants.api.serializers import InboundCaseCreateInput
from entrants.models import InboundCase
from health.identity import document_of, name_key, name_normalise
from health.models import Organisation, Person
from health.textfiles import UndecodableFile, file_text

FORMATS = ("csv", "jsonl")
REQUIRED = ("name", "id_number", "entered_country_on", "port", "origin_country")
OPTIONAL = ("community_code", "quarantine_ended_at", "entered_city_on")
# Travellers by passport or permit (docs/identity.md): `document_number` in place of `id_number`.
DOCUMENT = ("document_type", "document_number", "nationality", "birth_date")
FIELDS = REQUIRED + OPTIONAL + DOCUMENT
MAX_ROWS = 10_000
MAX_BYTES = 8 * 1024 * 1024
TOO_LARGE = _("文件过大：每个文件最多 10000 行、8 MB，请分批导入。")


class FeedRejected(Exception):
    """The file is not imported: `rejected` lists bad rows, `file_errors` problems of the whole file."""

    def __init__(self, rejected: list[dict] | None = None, file_errors: list | None = None) -> None:
        self.rejected = rejected or []
        self.file_errors = file_errors or []
        super().__init__(f"{len(self.rejected)} rejected rows")

    def payload(self) -> dict:
        if self.file_errors:
            return {"file": [str(message) for message in self.file_errors]}
        return {"rejected": self.rejected}


def format_of_name(name: str | None) -> str | None:
    lowered = (name or "").lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


def format_of_media_type(media_type: str) -> str | None:
    return {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl"}.get(media_type)


# --- parsing: (line number, raw row) --------------------------------------------------------
def _decode(content: bytes | str) -> str:
    """The file's text: UTF-8 or GB18030, decided for the whole file (health.textfiles)."""
    if isinstance(content, str):
        return content
    try:
        return file_text(content)
    except UndecodableFile as error:
        raise FeedRejected(rejected=[{"line": error.line, "errors": {"file": [str(error.message)]}}]) from None


def _parse_csv(text: str) -> Iterator[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise FeedRejected(file_errors=[_("文件为空。")])
    columns = [column.strip().lower() for column in header]
    unknown = [column for column in columns if column not in FIELDS]
    # A file names persons by `id_number`, or by the document columns (`document_number`), or both.
    numbered = "document_number" in columns
    missing = [column for column in REQUIRED if column not in columns and not (column == "id_number" and numbered)]
    duplicated = sorted({column for column in columns if columns.count(column) > 1})
    errors = {}
    if unknown:
        errors["header"] = [_("未知的列：") + "、".join(unknown)]
    if missing:
        errors.setdefault("header", []).append(_("缺少必需的列：") + "、".join(missing))
    if duplicated:
        errors.setdefault("header", []).append(_("重复的列：") + "、".join(duplicated))
    if errors:
        raise FeedRejected(rejected=[{"line": 1, "errors": _plain(errors)}])
    previous_end = reader.line_num
    for values in reader:
        line, previous_end = previous_end + 1, reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(columns):
            yield line, {"__error__": _("列数多于表头。")}
            continue
        yield line, {column: value for column, value in zip(columns, values, strict=False)}


def _parse_jsonl(text: str) -> Iterator[tuple[int, dict]]:
    # Line by line (not splitlines(), which makes the list of every line before the first is read).
    for line, raw in enumerate(io.StringIO(text, newline=None), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: a line nested thousands deep
            yield line, {"__error__": _("不是有效的 JSON。")}
            continue
        if not isinstance(row, dict):
            yield line, {"__error__": _("每行应为一个 JSON 对象。")}
            continue
        unknown = [key for key in row if key not in FIELDS]
        if unknown:
            yield line, {"__error__": _("未知的字段：") + "、".join(str(key)[:40] for key in unknown)}
            continue
        yield line, row


def feed_parse(content: bytes | str, feed_format: str) -> list[tuple[int, dict]]:
    if feed_format not in FORMATS:
        raise FeedRejected(file_errors=[_("不支持的格式，请使用 csv 或 jsonl。")])
    if len(content) > MAX_BYTES:
        raise FeedRejected(file_errors=[TOO_LARGE])
    text = _decode(content)
    # Reading stops one row past the limit: 8 MB of one-character lines are millions of rows, which
    # parsed whole took over a gigabyte before the limit was checked.
    rows = list(itertools.islice(_parse_csv(text) if feed_format == "csv" else _parse_jsonl(text), MAX_ROWS + 1))
    if not rows:
        raise FeedRejected(file_errors=[_("文件中没有数据行。")])
    if len(rows) > MAX_ROWS:
        raise FeedRejected(file_errors=[TOO_LARGE])
    return rows


# --- validation -----------------------------------------------------------------------------
def _blank_to_none(value):
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _payload(row: dict) -> dict:
    person = {"name": row.get("name"), "id_number": row.get("id_number")}
    for field in DOCUMENT:
        if _blank_to_none(row.get(field)) is not None:
            person[field] = row[field]
    if "document_number" in person and _blank_to_none(person["id_number"]) is None:
        del person["id_number"]  # a passport row: the document columns name the person
    payload = {
        "person": person,
        "entered_country_on": row.get("entered_country_on"),
        "port": row.get("port"),
        "origin_country": row.get("origin_country"),
    }
    for field in OPTIONAL:
        payload[field] = _blank_to_none(row.get(field))
    return {key: value for key, value in payload.items() if value is not None}


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


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def feed_validate(rows: list[tuple[int, dict]]) -> list[services.FeedRow]:
    """Every row, then the rows against each other and the database; FeedRejected if any is bad."""
    community_codes = {
        str(row.get("community_code")).strip()
        for _line, row in rows
        if isinstance(row, dict) and _blank_to_none(row.get("community_code")) is not None
    }
    # A code PostgreSQL cannot hold (a NUL, a lone surrogate from a JSON escape) names no community and
    # must not reach the query (a 500); its row is refused by the field's own checks.
    community_codes = {code for code in community_codes if _storable(code)}
    communities = set(
        Organisation.objects.filter(kind=Organisation.Kind.COMMUNITY, code__in=community_codes).values_list(
            "code", flat=True
        )
    )
    rejected: dict[int, dict[str, list[str]]] = {}
    valid: list[services.FeedRow] = []
    raw_rows = dict(rows)
    # One serializer for every row (as DRF's many=True does): its fields are built once, not per row.
    serializer = InboundCaseCreateInput(context={"communities": communities})
    for line, row in rows:
        if "__error__" in row:
            rejected[line] = {"non_field_errors": [str(row["__error__"])]}
            continue
        try:
            values = serializer.run_validation(_payload(row))
        except ValidationError as error:
            rejected[line] = _plain(error.detail)
            continue
        valid.append(
            services.FeedRow(
                line=line,
                name=name_normalise(values["person"]["name"]),
                id_number=values["person"]["id_number"],
                entered_country_on=values["entered_country_on"],
                port=values["port"],
                origin_country=values["origin_country"],
                community_code=values.get("community_code"),
                quarantine_ended_at=values.get("quarantine_ended_at"),
                entered_city_on=values.get("entered_city_on"),
            )
        )
    for line, errors in _cross_check(valid).items():
        for field, messages in errors.items():
            rejected.setdefault(line, {}).setdefault(field, []).extend(messages)
    if rejected:
        report = [
            {"line": line, "errors": _scrub(errors, raw_rows.get(line, {}))}
            for line, errors in sorted(rejected.items())
        ]
        raise FeedRejected(rejected=report)
    return valid


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
def feed_import(*, actor, content: bytes | str, feed_format: str) -> int:
    """Parse, validate every row, then write them all in one transaction; the number of rows written."""
    services.recording_border(actor)
    rows = feed_validate(feed_parse(content, feed_format))
    return services.inbound_import(actor=actor, rows=rows)
