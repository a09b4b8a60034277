"""Department feeds from files at bulk speed: every row validated first, then written in one transaction.

`feed_import(kind=, path=)` for stays (the national platform's itinerary), designations, risk
areas and entrants, CSV (with a header) or JSON lines. Any bad row rejects the whole file with
its line number and reasons (an ID number is never repeated in a message); nothing is written.
Stays, the feed of millions, are checked row by row in Python with the same rules as the API and
written on PostgreSQL through a staging table filled with COPY: persons resolved and created set-
based, stays upserted on (person, city, arrival) so that a resent file never duplicates, the
affected persons marked dirty in the same transaction and recomputed after commit in batches.
The small feeds reuse the API's serializers and the services row by row.
"""
from __future__ import annotations

import csv
import io
import json
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from entrants.feed import FeedRejected
from health import bulk, textfiles, timebounds
from health.identity import id_number_clean, id_number_digest, id_number_mask
from health.models import HealthStatus, ItineraryStay, KeptDeclaration, Organisation, Person, Region
from health.services.persons import (
    declarations_kept_make_theirs,
    name_normalise,
    persons_create_many,
    persons_known,
)
from health.services.statuses import persons_mark_dirty

KINDS = ("stays", "designations", "risk-areas", "entrants")
T = TypeVar("T")
STAY_COLUMNS = ("name", "id_number", "city_code", "arrived_at", "left_at")
# A report lists this many bad rows at most (and says how many there were).
REPORT_MAX = 200
BEIJING = timezone.get_fixed_timezone(480)

INVALID_TIME = _("时间格式不正确，请使用 ISO 8601（如 2022-05-01T08:00:00+08:00）。")
REQUIRED = _("该字段是必填项。")
UNKNOWN_REGION = _("未知的区划代码。")
LEFT_BEFORE_ARRIVED = _("离开时间不能早于到达时间。")
NAME_TOO_LONG = _("姓名最多 64 个字符。")
OTHER_NAME_IN_FILE = _("同一身份证号码在第 %(line)s 行的姓名不同。")
OTHER_NAME_STORED = _("该身份证号码已登记为另一姓名。")


def format_of_name(name: str) -> str | None:
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


# --- reading ----------------------------------------------------------------------------------
class _OtherEncoding(Exception):
    """The file is not UTF-8 but, as a whole, another encoding: read it again in that one."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


def _lines(path: Path, encoding: str = textfiles.UTF8) -> Iterator[str]:
    """The file's lines, read as UTF-8 (a byte-order mark skipped) while it is; see _read_in_its_encoding."""
    with path.open("rb") as raw:
        bom = raw.read(len(textfiles.BOM)) == textfiles.BOM
        raw.seek(len(textfiles.BOM) if bom else 0)
        try:
            yield from io.TextIOWrapper(raw, encoding=encoding, newline="")
            return
        except UnicodeDecodeError:
            pass
    # Not in this encoding: the whole file decides which it is (one pass, a line at a time).
    with path.open("rb") as raw:
        raw.seek(len(textfiles.BOM) if bom else 0)
        try:
            found = textfiles.lines_encoding(raw, bom=bom)
        except textfiles.UndecodableFile as error:
            raise FeedRejected(rejected=[{"line": error.line, "errors": {"file": [str(error.message)]}}]) from None
    if found == encoding:  # not expected: the decoder and the check disagree
        raise FeedRejected(file_errors=[_("无法识别文件编码，请使用 UTF-8。")])
    raise _OtherEncoding(found)


def _read_in_its_encoding(read: Callable[[str], T]) -> T:
    """read(encoding): as UTF-8 first (the files are), again as GB18030 if the whole file is that instead.

    A stays file of millions is read once in the common case; nothing is written before a file is
    read to its end, so reading it again costs only time.
    """
    try:
        return read(textfiles.UTF8)
    except _OtherEncoding as other:
        return read(other.encoding)


def _csv_names(header: list[str], columns: tuple[str, ...]) -> list[str]:
    """The header's column names; FeedRejected (line 1) for an unknown or a missing column."""
    names = [column.strip().lower() for column in header]
    unknown = [column for column in names if column not in columns]
    missing = [column for column in columns if column not in names and column != "left_at"]
    if unknown or missing:
        errors = []
        if unknown:
            errors.append(str(_("未知的列：")) + "、".join(column[:40] for column in unknown))
        if missing:
            errors.append(str(_("缺少必需的列：")) + "、".join(missing))
        raise FeedRejected(rejected=[{"line": 1, "errors": {"header": errors}}])
    return names


def _csv_records(reader, names: list[str], line_offset: int = 0) -> Iterator[tuple[int, dict | str]]:
    """The data rows of a csv.reader whose first line is line `line_offset + 1` of the file."""
    for values in reader:
        line = line_offset + reader.line_num
        if not any(values):
            continue
        if len(values) > len(names):
            yield line, str(_("列数多于表头。"))
            continue
        yield line, dict(zip(names, values, strict=False))


def _json_records(lines, columns: tuple[str, ...], first_line: int = 1) -> Iterator[tuple[int, dict | str]]:
    for line, text in enumerate(lines, start=first_line):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: a line nested thousands deep
            yield line, str(_("不是有效的 JSON。"))
            continue
        if not isinstance(row, dict):
            yield line, str(_("每行应为一个 JSON 对象。"))
            continue
        unknown = [key for key in row if key not in columns]
        if unknown:
            yield line, str(_("未知的字段：")) + "、".join(str(key)[:40] for key in unknown)
            continue
        yield line, row


def rows_read(
    path: Path, feed_format: str, columns: tuple[str, ...], encoding: str = textfiles.UTF8
) -> Iterator[tuple[int, dict | str]]:
    """(line number, row dict) per data row, or (line, message) for a row that cannot be read."""
    if feed_format == "csv":
        reader = csv.reader(_lines(path, encoding))
        header = next(reader, None)
        if header is None:
            raise FeedRejected(file_errors=[_("文件为空。")])
        yield from _csv_records(reader, _csv_names(header, columns))
        return
    yield from _json_records(_lines(path, encoding), columns)


# --- validation of one value ------------------------------------------------------------------
def _moment(value: object, *, now: datetime) -> datetime:
    """A past moment (ISO 8601; a naive time is Beijing time), within the API's bounds."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(INVALID_TIME) from None
    else:
        raise ValueError(INVALID_TIME)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    if errors := timebounds.past_time_errors(moment, now=now):
        raise ValueError(errors[0])
    return moment


# --- stays ------------------------------------------------------------------------------------
# A file at least this large is checked in as many processes as there are cores; forking a process
# costs more than checking a smaller file in one.
PARALLEL_MIN_BYTES = 4 << 20
_NULL = "\\N"


@dataclass(slots=True)
class ValidStays:
    """A checked stays file, ready to be written.

    `persons`: keyed digest -> (name, masked number, first line). `stays`: blocks of staging rows in
    PostgreSQL's COPY text format, "line, digest, region, arrived_at, left_at" tab-separated, one a
    line (times in ISO 8601 with their offset, `\\N` for none): the checking processes write them,
    so that the writer streams them to the server as they are. `rows`: the file's rows. The plain
    ID number is not kept: only its digest and masked form leave the check.
    """

    persons: dict[str, tuple[str, str, int]]
    stays: list[str]
    rows: int

    def __len__(self) -> int:
        return self.rows

    def stay_rows(self) -> Iterator[tuple[int, str, str, datetime, datetime | None]]:
        """(line, digest, region, arrived_at, left_at) per row, in file order."""
        for block in self.stays:
            for text in block.splitlines():
                line, digest, region, arrived_at, left_at = text.split("\t")
                yield (
                    int(line),
                    digest,
                    region,
                    datetime.fromisoformat(arrived_at),
                    None if left_at == _NULL else datetime.fromisoformat(left_at),
                )


def _time_checked(value: object, now: datetime) -> tuple[datetime, str] | str:
    """(the moment, its ISO 8601 text with offset) of a valid time, or the message of what is wrong."""
    try:
        moment = _moment(value, now=now)
    except ValueError as error:
        return str(error.args[0])
    return moment, moment.isoformat()


def _stays_check(records, *, regions: frozenset[str], now: datetime):
    """The API's rules on every row, and the same number under another name among these rows.

    Returns (rejected lines with their errors, persons as in ValidStays, the valid rows as one
    COPY text block, how many). One process runs it on a whole file, or each of several on a part.
    Each distinct ID number is checked and hashed once, each distinct time text parsed once.
    """
    numbers: dict[str, tuple[str, str] | str] = {}  # raw -> (digest, masked), or an error message
    times: dict[str, tuple[datetime, str] | str] = {}  # raw -> (moment, ISO text), or an error message
    persons: dict[str, tuple[str, str, int]] = {}  # digest -> the name, masked number and line it came with first
    rejected: dict[int, dict[str, list[str]]] = {}
    staged: list[str] = []
    for line, row in records:
        if isinstance(row, str):
            rejected[line] = {"non_field_errors": [row]}
            continue
        errors: dict[str, list[str]] = {}
        name = name_normalise(row.get("name") or "")
        if not name:
            errors["name"] = [str(REQUIRED)]
        elif len(name) > 64:
            errors["name"] = [str(NAME_TOO_LONG)]
        raw = row.get("id_number")
        known = numbers.get(raw) if type(raw) is str else None
        if known is None:
            try:
                # id_number_clean checks a canonical number in ~2 µs (health/identity.py), others with stdnum.
                number = id_number_clean(str(raw) if raw is not None else "")
                known = (id_number_digest(number), id_number_mask(number))
            except DjangoValidationError as error:
                known = str(error.messages[0])
            if type(raw) is str:
                numbers[raw] = known
        if type(known) is str:
            errors["id_number"] = [known]
        elif "name" not in errors:
            # Names are compared on every row with a valid number, whatever else is wrong with it.
            first = persons.setdefault(known[0], (name, known[1], line))
            if first[0] != name:
                errors["name"] = [str(OTHER_NAME_IN_FILE % {"line": first[2]})]
        region = row.get("city_code")
        if region not in regions:
            errors["city_code"] = [str(UNKNOWN_REGION if region else REQUIRED)]
        value = row.get("arrived_at")
        arrived = times.get(value) if type(value) is str else None
        if arrived is None:
            arrived = _time_checked(value, now)
            if type(value) is str:
                times[value] = arrived
        if type(arrived) is str:
            errors["arrived_at"] = [arrived if value else str(REQUIRED)]
        value = row.get("left_at")
        left = None
        if value not in (None, ""):
            left = times.get(value) if type(value) is str else None
            if left is None:
                left = _time_checked(value, now)
                if type(value) is str:
                    times[value] = left
            if type(left) is str:
                errors["left_at"] = [left]
            elif type(arrived) is not str and left[0] < arrived[0]:
                errors["left_at"] = [str(LEFT_BEFORE_ARRIVED)]
        if len(times) > 1 << 20:
            times.clear()  # memory stays bounded whatever the file
        if errors:
            rejected[line] = errors
            continue
        staged.append(f"{line}\t{known[0]}\t{region}\t{arrived[1]}\t{_NULL if left is None else left[1]}\n")
    return rejected, persons, "".join(staged), len(staged)


def stays_validate(path: Path, feed_format: str, *, processes: int | None = None) -> ValidStays:
    """Every row checked (the API's rules), then the rows against each other; FeedRejected if any is bad.

    A large file is checked in `processes` processes (default: one per core), a part each; a file
    any part finds a fault in is read again by one process, which reports it exactly as for a
    small file (the same messages, lines and totals).
    """
    now = timezone.now()
    regions = frozenset(Region.objects.values_list("code", flat=True))
    valid = _stays_validate_parallel(path, feed_format, regions=regions, now=now, processes=processes)
    if valid is not None:
        return valid
    rejected, persons, block, count = _read_in_its_encoding(
        lambda encoding: _stays_check(rows_read(path, feed_format, STAY_COLUMNS, encoding), regions=regions, now=now)
    )
    if rejected:
        raise _rejection(rejected)
    if not count:
        raise FeedRejected(file_errors=[_("文件中没有数据行。")])
    return ValidStays(persons=persons, stays=[block], rows=count)


def _stays_validate_parallel(
    path: Path, feed_format: str, *, regions: frozenset[str], now: datetime, processes: int | None
) -> ValidStays | None:
    """The same checks, a part of the file per process; None when one process must read the file.

    One process reads a file that is small, has a quote in a CSV (a quoted field may hold a line
    break, so a part could not start at any line), a line ending in a lone CR (the readers also
    end a line there), or in which any part found a fault (bad rows or one number under two
    names): that path finds and reports exactly what is wrong.
    """
    processes = processes or len(os.sched_getaffinity(0))
    if processes < 2 or threading.active_count() > 1 or path.stat().st_size < PARALLEL_MIN_BYTES:
        return None
    data = path.read_bytes()
    body = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if data.count(b"\r") != data.count(b"\r\n"):
        return None
    names = None
    if feed_format == "csv":
        header_end = data.find(b"\n", body) + 1
        if b'"' in data or not header_end:
            return None
        try:
            names = _csv_names(next(csv.reader([data[body:header_end].decode("utf-8")])), STAY_COLUMNS)
        except (UnicodeDecodeError, FeedRejected):
            return None
        body = header_end
    # Parts of about equal size, each starting at the beginning of a line.
    bounds = [body]
    for part in range(1, processes):
        cut = data.find(b"\n", body + (len(data) - body) * part // processes) + 1
        bounds.append(cut or len(data))
    bounds.append(len(data))
    parts = [
        (data, start, end, data.count(b"\n", 0, start), names, regions, now)
        for start, end in zip(bounds, bounds[1:], strict=False)
        if end > start
    ]
    results = _forked(_stays_check_part, parts)
    if results is None:
        return None
    persons: dict[str, tuple[str, str, int]] = {}
    blocks: list[str] = []
    count = 0
    for rejected, part_persons, block, part_count in results:
        if rejected:
            return None
        for digest, person in part_persons.items():
            # Within each part every row has its number's first name; so must the parts among themselves.
            if persons.setdefault(digest, person)[0] != person[0]:
                return None
        blocks.append(block)
        count += part_count
    if not count:
        return None
    return ValidStays(persons=persons, stays=blocks, rows=count)


def _stays_check_part(data: bytes, start: int, end: int, lines_before: int, names, regions, now):
    lines = io.StringIO(data[start:end].decode("utf-8"), newline="")
    if names is not None:
        records = _csv_records(csv.reader(lines), names, lines_before)
    else:
        records = _json_records(lines, STAY_COLUMNS, lines_before + 1)
    return _stays_check(records, regions=regions, now=now)


def _forked(function, calls: list[tuple]) -> list | None:
    """function(*call) for every call: the first here, the others in forked children; None if any failed.

    A child shares this process's memory as it was (the file, the regions, the settings with the
    HMAC key), sends its result back pickled through a pipe and ends with os._exit, so that it
    never touches this process's database connection. A failure of any kind (a decoding error,
    a child that died) sends the caller to the one-process path, which reports it properly.
    """
    children = []
    for call in calls[1:]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as pipe:
                    pickle.dump(function(*call), pipe, protocol=pickle.HIGHEST_PROTOCOL)
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        children.append((pid, read_end))
    results: list | None = []
    try:
        results.append(function(*calls[0]))
    except Exception:  # noqa: BLE001 - reported by the one-process path
        results = None
    for pid, read_end in children:
        with os.fdopen(read_end, "rb") as pipe:
            try:
                result = pickle.load(pipe)
            except Exception:  # noqa: BLE001 - the child failed before sending: the one-process path reports why
                result = None
        _, status = os.waitpid(pid, 0)
        if results is not None and (status != 0 or result is None):
            results = None
        if results is not None:
            results.append(result)
    return results


def _rejection(rejected: dict[int, dict[str, list[str]]], *, total: int | None = None) -> FeedRejected:
    report = [{"line": line, "errors": errors} for line, errors in sorted(rejected.items())[:REPORT_MAX]]
    error = FeedRejected(rejected=report)
    error.total = len(rejected) if total is None else total
    return error


_PERSONS = "feed_persons"
_PERSONS_COLUMNS = (
    "digest varchar(64), name varchar(64), masked varchar(18), line integer, person_id bigint, stored_name varchar(64)"
)
_STAYS = "feed_stays"
_STAYS_COLUMNS = "line integer, digest varchar(64), region varchar(6), arrived_at timestamptz, left_at timestamptz"


@transaction.atomic
def stays_write(valid: ValidStays, *, source: str) -> tuple[int, list[int]]:
    """Write checked stays in this transaction; (stays written, persons marked dirty).

    A stay the file repeats (same person, city and arrival) is written once, from its last line.
    """
    if not bulk.is_postgresql():
        return _stays_write_portable(valid, source=source)
    bulk.temp_table_create(_PERSONS, _PERSONS_COLUMNS)
    bulk.temp_table_create(_STAYS, _STAYS_COLUMNS)
    bulk.copy_rows(
        _PERSONS,
        ["digest", "name", "masked", "line"],
        ((digest, name, masked, line) for digest, (name, masked, line) in valid.persons.items()),
    )
    bulk.copy_text(_STAYS, ["line", "digest", "region", "arrived_at", "left_at"], valid.stays)
    person, status, stay = Person._meta.db_table, HealthStatus._meta.db_table, ItineraryStay._meta.db_table
    with connection.cursor() as cursor:
        # Sorts and hashes of a large file in memory rather than in temporary files, for this transaction only.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(f"ANALYZE {_PERSONS}")
        cursor.execute(f"ANALYZE {_STAYS}")
        # Each person looked up once by digest: everything below reads the staging tables alone.
        cursor.execute(
            f"UPDATE {_PERSONS} f SET person_id = p.id, stored_name = p.name FROM {person} p WHERE p.id_digest = f.digest"
        )
        _conflicts_reject(cursor)
        # New persons and their status rows, set-based, each given its new id.
        cursor.execute(
            f"""
            WITH new AS (
                INSERT INTO {person} (name, id_digest, id_masked, created_at)
                SELECT name, digest, masked, now() FROM {_PERSONS} WHERE person_id IS NULL ORDER BY digest
                ON CONFLICT (id_digest) DO NOTHING
                RETURNING id, id_digest, name
            ), statuses AS (
                INSERT INTO {status} (person_id, status, reasons, needs_review, dirty, dirty_cause,
                                      inputs_version, computed_version)
                SELECT id, 'popup', '[]', false, true, 'person_created', 1, 0 FROM new
            )
            UPDATE {_PERSONS} f SET person_id = new.id, stored_name = new.name FROM new WHERE f.digest = new.id_digest
            """
        )
        # A number created meanwhile by a concurrent request: read it back and check its name too.
        cursor.execute(
            f"UPDATE {_PERSONS} f SET person_id = p.id, stored_name = p.name FROM {person} p "
            f"WHERE f.person_id IS NULL AND p.id_digest = f.digest"
        )
        _conflicts_reject(cursor)
        # Declarations kept for these persons before they appeared (by digest and the very name).
        cursor.execute(
            f"SELECT k.id, f.person_id FROM {KeptDeclaration._meta.db_table} k "
            f"JOIN {_PERSONS} f ON f.digest = k.id_digest AND f.stored_name = k.name"
        )
        kept = dict(cursor.fetchall())
        # In the unique index's order, so that it grows page after page instead of at a random page per
        # row; of a stay the file repeats, the last line.
        cursor.execute(
            f"""
            INSERT INTO {stay} (person_id, region_id, arrived_at, left_at, source, received_at)
            SELECT DISTINCT ON (p.person_id, s.region, s.arrived_at)
                   p.person_id, s.region, s.arrived_at, s.left_at, %s, now()
            FROM {_STAYS} s JOIN {_PERSONS} p ON p.digest = s.digest
            ORDER BY p.person_id, s.region, s.arrived_at, s.line DESC
            ON CONFLICT (person_id, region_id, arrived_at)
            DO UPDATE SET left_at = EXCLUDED.left_at, source = EXCLUDED.source, received_at = EXCLUDED.received_at
            """,
            [source],
        )
        written = cursor.rowcount
        cursor.execute(f"SELECT person_id FROM {_PERSONS} ORDER BY person_id")
        person_ids = [pk for (pk,) in cursor.fetchall()]
    bulk.temp_table_drop(_STAYS)
    bulk.temp_table_drop(_PERSONS)
    declarations_kept_make_theirs(kept)
    persons_mark_dirty(person_ids, cause="itinerary_feed")
    return written, person_ids


def _conflicts_reject(cursor) -> None:
    """A name that contradicts the stored person's rejects the file (rolled back with it), naming the lines."""
    cursor.execute(f"SELECT EXISTS (SELECT FROM {_PERSONS} WHERE stored_name <> name)")
    if not cursor.fetchone()[0]:
        return
    # The lines written for those persons: of a repeated stay, its last line (as written above).
    cursor.execute(
        f"""
        SELECT s.line, count(*) OVER () FROM (
            SELECT DISTINCT ON (digest, region, arrived_at) digest, line FROM {_STAYS}
            ORDER BY digest, region, arrived_at, line DESC
        ) s JOIN {_PERSONS} p ON p.digest = s.digest
        WHERE p.stored_name <> p.name
        ORDER BY s.line LIMIT {REPORT_MAX}
        """
    )
    found = cursor.fetchall()
    raise _rejection({line: {"name": [str(OTHER_NAME_STORED)]} for line, _total in found}, total=found[0][1])


def _stays_write_portable(valid: ValidStays, *, source: str) -> tuple[int, list[int]]:
    """SQLite (the embedded mode): persons resolved and created by digest with the ORM, stays upserted in batches."""
    unique = {(digest, region, arrived_at): (line, digest, region, arrived_at, left_at)
              for line, digest, region, arrived_at, left_at in valid.stay_rows()}  # fmt: skip
    rows = sorted(unique.values())
    digests = sorted(valid.persons)
    person_of = persons_known(digests)
    _names_check(rows, valid, person_of)
    new = {digest: valid.persons[digest][:2] for digest in digests if digest not in person_of}
    if new:
        created = persons_create_many(new)
        _names_check(rows, valid, created)
        person_of.update(created)
    stays = [
        ItineraryStay(
            person_id=person_of[digest][0], region_id=region, arrived_at=arrived_at, left_at=left_at, source=source
        )
        for _line, digest, region, arrived_at, left_at in rows
    ]
    ItineraryStay.objects.bulk_create(
        stays,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["person", "region", "arrived_at"],
        update_fields=["left_at", "source", "received_at"],
    )
    person_ids = sorted({pk for pk, _name in person_of.values()})
    persons_mark_dirty(person_ids, cause="itinerary_feed")
    return len(stays), person_ids


def _names_check(rows: list[tuple], valid: ValidStays, stored: dict[str, tuple[int, str]]) -> None:
    conflicts = [
        row[0] for row in rows if row[1] in stored and stored[row[1]][1] != valid.persons[row[1]][0]
    ]  # fmt: skip
    if conflicts:
        raise _rejection({line: {"name": [str(OTHER_NAME_STORED)]} for line in conflicts})


# --- the small feeds: the API's serializers and the services, row by row ----------------------
DESIGNATION_COLUMNS = ("name", "id_number", "kind", "designated_at", "cleared_at")
RISK_AREA_COLUMNS = ("region_code", "level", "effective_from", "effective_to")


def _flat(detail, field_name: str | None = None, out: dict | None = None) -> dict[str, list[str]]:
    """DRF's nested errors as {column: [messages]} (a nested person's fields are the file's columns)."""
    out = {} if out is None else out
    if isinstance(detail, dict):
        for key, inner in detail.items():
            _flat(inner, field_name if key in ("non_field_errors", "person") and field_name else key, out)
    elif isinstance(detail, list | tuple):
        for inner in detail:
            _flat(inner, field_name, out)
    else:
        out.setdefault(field_name or "non_field_errors", []).append(str(detail))
    return out


def _blank(value):
    return None if isinstance(value, str) and not value.strip() else value


def _validated(path: Path, feed_format: str, columns: tuple[str, ...], serializer_class, payload) -> list[dict]:
    return _read_in_its_encoding(
        lambda encoding: _validated_in(path, feed_format, columns, serializer_class, payload, encoding)
    )


def _validated_in(path: Path, feed_format: str, columns, serializer_class, payload, encoding: str) -> list[dict]:
    from rest_framework.exceptions import ValidationError

    rejected: dict[int, dict[str, list[str]]] = {}
    valid = []
    for line, row in rows_read(path, feed_format, columns, encoding):
        if isinstance(row, str):
            rejected[line] = {"non_field_errors": [row]}
            continue
        serializer = serializer_class(data=payload({key: _blank(value) for key, value in row.items()}))
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError as error:
            rejected[line] = _flat(error.detail)
            continue
        valid.append(serializer.validated_data)
    if rejected:
        raise _rejection(rejected)
    if not valid:
        raise FeedRejected(file_errors=[_("文件中没有数据行。")])
    return valid


def _designations_import(path: Path, feed_format: str, actor) -> int:
    from health.api.serializers import DesignationCreateInputSerializer
    from health.services.designations import designation_create

    rows = _validated(
        path,
        feed_format,
        DESIGNATION_COLUMNS,
        DesignationCreateInputSerializer,
        lambda row: {
            "person": {"name": row.get("name"), "id_number": row.get("id_number")},
            **{key: row.get(key) for key in ("kind", "designated_at", "cleared_at") if row.get(key) is not None},
        },
    )
    with transaction.atomic():
        for data in rows:
            designation_create(
                actor=actor,
                name=data["person"]["name"],
                id_number=data["person"]["id_number"],
                kind=data["kind"],
                designated_at=data["designated_at"],
                cleared_at=data["cleared_at"],
            )
    return len(rows)


def _risk_areas_import(path: Path, feed_format: str, actor) -> int:
    from health.api.serializers import RiskAreaCreateInputSerializer
    from health.services.risk_areas import risk_area_create

    rows = _validated(
        path,
        feed_format,
        RISK_AREA_COLUMNS,
        RiskAreaCreateInputSerializer,
        lambda row: {key: value for key, value in row.items() if value is not None},
    )
    regions = Region.objects.in_bulk([data["region_code"] for data in rows])
    with transaction.atomic():
        for data in rows:
            risk_area_create(
                actor=actor,
                region=regions[data["region_code"]],
                level=data["level"],
                effective_from=data["effective_from"],
                effective_to=data["effective_to"],
            )
    return len(rows)


def feed_import(*, kind: str, path: Path, feed_format: str | None = None, actor=None) -> dict:
    """Import one file of `kind`; FeedRejected (nothing written) if any row is bad."""
    feed_format = feed_format or format_of_name(path.name)
    if feed_format not in ("csv", "jsonl"):
        raise FeedRejected(file_errors=[_("不支持的格式，请使用 csv 或 jsonl。")])
    if kind == "stays":
        from health.selectors import user_organisation

        rows = stays_validate(path, feed_format)
        organisation = user_organisation(actor) if actor is not None else None
        source = organisation.kind if organisation is not None else Organisation.Kind.PLATFORM
        written, person_ids = stays_write(rows, source=source)
        return {"rows": len(rows), "written": written, "persons": len(person_ids)}
    if kind == "entrants":
        from entrants import feed

        return {"rows": feed.feed_import(actor=actor, content=path.read_bytes(), feed_format=feed_format)}
    if kind == "designations":
        return {"rows": _designations_import(path, feed_format, actor)}
    if kind == "risk-areas":
        return {"rows": _risk_areas_import(path, feed_format, actor)}
    raise ValueError(f"unknown feed kind {kind!r}")
