"""One feed framework: department files at bulk speed, every row checked first, then all written in one transaction.

A feed kind (health.registry.register_feed) is three things: the columns it reads, one row
validator (`RowValidator`: the API's rules on one row, plus the rows against each other and the
database when every row is read) and one writer per table it fills. The framework does the rest
the same way for every kind: one reader per format (CSV with a header, JSON lines), the text
encoding decided for the whole file (health.textfiles), the size limits, a large file checked in
parallel on the standard library's process pool, and the report: any bad row rejects the whole
file with its line number and reasons (an ID number is never repeated in a message) and nothing
is written.

The core's kinds are here: stays (the national platform's itinerary, the feed of millions:
checked in Python with the API's rules, written on PostgreSQL through staging tables filled
with COPY, persons resolved and created set-based, stays upserted on (person, city, arrival) so
that a resent file never duplicates, the affected persons marked dirty in the same transaction),
designations and risk areas (the API's serializers and the services, row by row). The entrants
app registers the border-control kind from its AppConfig.ready (entrants/feed.py); the core
imports no app.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from health import bulk, registry, textfiles, timebounds
from health.identity import DocumentType, document_clean, id_number_clean, id_number_digest, id_number_mask
from health.models import HealthStatus, ItineraryStay, KeptDeclaration, Organisation, Person, PersonAlias, Region
from health.services.persons import (
    PersonDocument,
    declarations_kept_make_theirs,
    name_key,
    name_normalise,
    persons_create_many,
    persons_known,
)
from health.services.statuses import persons_mark_dirty

T = TypeVar("T")
FORMATS = ("csv", "jsonl")
# A report lists this many bad rows at most (and says how many there were), for kinds whose report is capped.
REPORT_MAX = 200
# A file at least this large is checked in as many processes as there are cores (for kinds that
# allow it); starting a process costs more than checking a smaller file in one.
PARALLEL_MIN_BYTES = 4 << 20
BEIJING = timezone.get_fixed_timezone(480)

INVALID_TIME = _("时间格式不正确，请使用 ISO 8601（如 2022-05-01T08:00:00+08:00）。")
REQUIRED = _("该字段是必填项。")
UNKNOWN_REGION = _("未知的区划代码。")
LEFT_BEFORE_ARRIVED = _("离开时间不能早于到达时间。")
NAME_TOO_LONG = _("姓名最多 64 个字符。")
OTHER_NAME_IN_FILE = _("同一身份证号码在第 %(line)s 行的姓名不同。")
OTHER_NAME_STORED = _("该身份证号码已登记为另一姓名。")
NO_ROWS = _("文件中没有数据行。")


class FeedRejected(Exception):
    """The file is not imported: `rejected` lists bad rows, `file_errors` problems of the whole file.

    `total`: how many rows were bad (a capped report lists only the first REPORT_MAX).
    """

    def __init__(self, rejected: list[dict] | None = None, file_errors: list | None = None) -> None:
        self.rejected = rejected or []
        self.file_errors = file_errors or []
        self.total = len(self.rejected)
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


# --- a kind: its columns, its row validator, its writers ----------------------------------------
Errors = dict[str, list[str]]


class RowValidator:
    """One kind's rules: `row` checks one row (and the rows before it), `finish` them all together.

    A validator reads the file, or a part of it in a process of its own (then it must not use the
    database: what it needs from there is `context`, read once before the rows). A row it refuses
    goes to `rejected` (line -> {column: [messages]}); a row it accepts it keeps, in whatever form
    its writer wants; `kept()` hands them over (pickled when checked in another process).
    """

    columns: ClassVar[tuple[str, ...]]
    required: ClassVar[tuple[str, ...]]

    def __init__(self, context: Any) -> None:
        self.context = context
        self.rejected: dict[int, Errors] = {}

    @classmethod
    def context_load(cls) -> Any:
        """What the rows are checked against, read from the database once per file (in the importing process)."""
        return None

    def unreadable(self, line: int, message: str) -> None:
        """A row the reader could not make a row of (bad JSON, more values than the header)."""
        self.rejected[line] = {"non_field_errors": [message]}

    def row(self, line: int, values: dict) -> None:
        raise NotImplementedError

    def rows(self, records: Iterable[tuple[int, dict | str]]) -> int:
        """Every record of the reader (a row, or the message of a row that cannot be read); how many.

        A kind of millions of rows overrides it with one loop of its own (stays).
        """
        count = 0
        for line, row in records:
            count += 1
            if isinstance(row, str):
                self.unreadable(line, row)
            else:
                self.row(line, row)
        return count

    def kept(self) -> Any:
        raise NotImplementedError

    @classmethod
    def kept_merged(cls, parts: list) -> Any | None:
        """The kept rows of the parts of a file, in file order; None when the parts disagree (one process then reads it)."""
        return None

    @classmethod
    def finish(cls, kept: Any, context: Any) -> dict[int, Errors]:
        """The valid rows against each other and the database, once every row is read: more bad lines."""
        return {}


@dataclass(frozen=True)
class FeedKind:
    """A kind of feed file: `validator` checks its rows, `write(kept, actor)` stores them (in one transaction).

    `authorise(actor)` refuses an actor who may not send it (ApplicationError) before the file is read;
    `max_bytes` / `max_rows` refuse a larger file (`too_large`); `parallel`: a large file is checked
    in one process per core; `capped`: the report lists REPORT_MAX rows at most.
    """

    name: str
    validator: type[RowValidator]
    write: Callable[[Any, Any], dict]
    authorise: Callable[[Any], object] | None = None
    max_bytes: int | None = None
    max_rows: int | None = None
    too_large: Any = None
    parallel: bool = False
    capped: bool = True


def kinds() -> list[str]:
    return registry.feed_kind_names()


# --- reading: one reader per format ---------------------------------------------------------------
class _OtherEncoding(Exception):
    """The file is not UTF-8 but, as a whole, another encoding: read it again in that one."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


def _lines(source: Path | bytes, encoding: str = textfiles.UTF8) -> Iterator[str]:
    """The lines of a file (a path, or its content), read as UTF-8 (a byte-order mark skipped) while it is.

    A file that turns out not to be valid in `encoding` is examined whole (health.textfiles) and
    _OtherEncoding names the encoding it is in; see _read_in_its_encoding.
    """

    def opened():
        return source.open("rb") if isinstance(source, Path) else io.BytesIO(source)

    with opened() as raw:
        bom = raw.read(len(textfiles.BOM)) == textfiles.BOM
        raw.seek(len(textfiles.BOM) if bom else 0)
        try:
            yield from io.TextIOWrapper(raw, encoding=encoding, newline="")
            return
        except UnicodeDecodeError:
            pass
    # Not in this encoding: the whole file decides which it is (one pass, a line at a time).
    with opened() as raw:
        raw.seek(len(textfiles.BOM) if bom else 0)
        try:
            found = textfiles.lines_encoding(raw if isinstance(source, Path) else raw.read().splitlines(), bom=bom)
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


def csv_header(header: list[str], columns: tuple[str, ...], required: tuple[str, ...]) -> list[str]:
    """The header's column names; FeedRejected (line 1) for an unknown, a missing or a repeated column."""
    names = [column.strip().lower() for column in header]
    unknown = [column for column in names if column not in columns]
    # A required entry "a|b" is met by either column (a border-control file names persons by
    # `id_number` or by the document columns); the message names the first.
    missing = [column.split("|")[0] for column in required if not any(one in names for one in column.split("|"))]
    repeated = sorted({column for column in names if names.count(column) > 1})
    errors = []
    if unknown:
        errors.append(str(_("未知的列：")) + "、".join(column[:40] for column in unknown))
    if missing:
        errors.append(str(_("缺少必需的列：")) + "、".join(missing))
    if repeated:
        errors.append(str(_("重复的列：")) + "、".join(column[:40] for column in repeated))
    if errors:
        raise FeedRejected(rejected=[{"line": 1, "errors": {"header": errors}}])
    return names


def csv_records(
    lines: Iterable[str], columns: tuple[str, ...], required: tuple[str, ...], *, names=None, lines_before: int = 0
) -> Iterator[tuple[int, dict | str]]:
    """(line, row) per data row of a CSV file, or (line, message) for a row that cannot be read.

    `line` is the file's line the row starts on. `names`: the header's, when `lines` are a part of
    the file that starts after `lines_before` lines (the header among them); else read from the first line.
    """
    reader = csv.reader(lines)
    if names is None:
        header = next(reader, None)
        if header is None:
            raise FeedRejected(file_errors=[_("文件为空。")])
        names = csv_header(header, columns, required)
    previous_end = reader.line_num
    for values in reader:
        line, previous_end = lines_before + previous_end + 1, reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(names):
            yield line, str(_("列数多于表头。"))
            continue
        yield line, dict(zip(names, values, strict=False))


def jsonl_records(
    lines: Iterable[str], columns: tuple[str, ...], required: tuple[str, ...] = (), *, names=None, lines_before: int = 0
) -> Iterator[tuple[int, dict | str]]:
    """(line, row) per JSON object of a JSON lines file, or (line, message) for a line that is not one."""
    for line, text in enumerate(lines, start=lines_before + 1):
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


READERS = {"csv": csv_records, "jsonl": jsonl_records}


# --- checking: one process, or a part of the file per process ----------------------------------------
def _rejection(rejected: dict[int, Errors], *, total: int | None = None, capped: bool = True) -> FeedRejected:
    lines = sorted(rejected.items())
    report = [{"line": line, "errors": errors} for line, errors in (lines[:REPORT_MAX] if capped else lines)]
    error = FeedRejected(rejected=report)
    error.total = len(rejected) if total is None else total
    return error


def _check_whole(kind: FeedKind, source: Path | bytes, feed_format: str, context: Any, encoding: str):
    """One validator over every row of the file: (rejected, kept, rows read)."""
    validator = kind.validator(context)
    cls = kind.validator
    records = READERS[feed_format](_lines(source, encoding), cls.columns, cls.required)
    if kind.max_rows is not None:
        # Reading stops one row past the limit: 8 MB of one-character lines are millions of rows.
        records = itertools.islice(records, kind.max_rows + 1)
    count = validator.rows(records)
    if kind.max_rows is not None and count > kind.max_rows:
        raise FeedRejected(file_errors=[kind.too_large])
    return validator.rejected, validator.kept(), count


def feed_check(kind: FeedKind, source: Path | bytes, feed_format: str, *, processes: int | None = None) -> Any:
    """Every row checked, then the rows together; the kept rows for the writer, or FeedRejected.

    A large file of a kind that allows it is checked in `processes` processes (default: one per
    core), a part each; a file any part finds a fault in, or whose parts disagree, is read again by
    one process, which reports it exactly as for a small file (the same messages, lines and totals).
    """
    context = kind.validator.context_load()
    kept = None
    if kind.parallel:
        kept = _check_parallel(kind, source, feed_format, context, processes)
    if kept is None:
        rejected, kept, count = _read_in_its_encoding(
            lambda encoding: _check_whole(kind, source, feed_format, context, encoding)
        )
        if not count:
            raise FeedRejected(file_errors=[NO_ROWS])
        for line, errors in kind.validator.finish(kept, context).items():
            for field, messages in errors.items():
                rejected.setdefault(line, {}).setdefault(field, []).extend(messages)
        if rejected:
            raise _rejection(rejected, capped=kind.capped)
    return kept


# The file the pool's processes check, shared with them by forking (never pickled to them).
_shared: dict[str, Any] = {}


def _check_parallel(kind: FeedKind, source: Path | bytes, feed_format: str, context, processes: int | None):
    """The file's parts checked in a process pool; the kept rows merged, or None for the one-process path.

    One process reads a file that is small, has a quote in a CSV (a quoted field may hold a line
    break, so a part could not start at any line), a line ending in a lone CR (the readers also
    end a line there), or in which any part found a fault (bad rows, rows that disagree across
    parts): that path finds and reports exactly what is wrong.
    """
    processes = processes or len(os.sched_getaffinity(0))
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    # Forking a process with other threads running may leave a lock held in the child: one process then.
    if processes < 2 or threading.active_count() > 1 or size < PARALLEL_MIN_BYTES:
        return None
    data = source.read_bytes() if isinstance(source, Path) else source
    body = 3 if data.startswith(textfiles.BOM) else 0
    if data.count(b"\r") != data.count(b"\r\n"):
        return None
    validator = kind.validator
    names = None
    if feed_format == "csv":
        header_end = data.find(b"\n", body) + 1
        if b'"' in data or not header_end:
            return None
        try:
            names = csv_header(next(csv.reader([data[body:header_end].decode("utf-8")])), validator.columns, validator.required)
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
        (start, end, data.count(b"\n", 0, start)) for start, end in zip(bounds, bounds[1:], strict=False) if end > start
    ]
    _shared.update(kind=kind, data=data, format=feed_format, names=names, context=context)
    try:
        results = _in_pool(parts)
    finally:
        _shared.clear()
    if results is None or any(rejected for rejected, _kept, _count in results):
        return None
    count = sum(count for _rejected, _kept, count in results)
    if not count:
        return None
    if kind.max_rows is not None and count > kind.max_rows:
        raise FeedRejected(file_errors=[kind.too_large])
    kept = validator.kept_merged([part_kept for _rejected, part_kept, _count in results])
    if kept is None or validator.finish(kept, context):
        return None
    return kept


def _in_pool(parts: list[tuple[int, int, int]]) -> list | None:
    """_check_part of every part: the first in this process, the others on a pool of forked processes.

    The processes are forked (they share the file, the context and the settings with the HMAC key
    as they are, nothing is pickled to them) and never touch this process's database connection;
    their results come back pickled. Any failure (a decoding error, a process that died) gives
    None: the one-process path reports it properly.
    """
    with ProcessPoolExecutor(max_workers=len(parts) - 1 or 1, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_check_part, *part) for part in parts[1:]]
        try:
            results = [_check_part(*parts[0])]
        except Exception:  # noqa: BLE001 - reported by the one-process path
            results = None
        for future in futures:
            try:
                result = future.result()
            except Exception:  # noqa: BLE001 - the one-process path reports why
                result = None
            if results is not None and result is not None:
                results.append(result)
            else:
                results = None
    return results


def _check_part(start: int, end: int, lines_before: int):
    kind: FeedKind = _shared["kind"]
    lines = io.StringIO(_shared["data"][start:end].decode("utf-8"), newline="")
    cls = kind.validator
    validator = cls(_shared["context"])
    records = READERS[_shared["format"]](lines, cls.columns, cls.required, names=_shared["names"], lines_before=lines_before)
    count = validator.rows(records)
    return validator.rejected, validator.kept(), count


# --- importing a file of any kind ---------------------------------------------------------------
def feed_import(
    *, kind: str, path: Path | None = None, content: bytes | str | None = None, feed_format: str | None = None, actor=None
) -> dict:
    """Import one file of `kind` (a path, or its content): every row checked, then all written or, with FeedRejected, none."""
    feed = registry.feed_kind(kind)
    if feed is None:
        raise ValueError(f"unknown feed kind {kind!r}")
    if isinstance(content, str):
        content = content.encode()
    source: Path | bytes = path if content is None else content
    feed_format = feed_format or (format_of_name(path.name) if path is not None else None)
    if feed_format not in FORMATS:
        raise FeedRejected(file_errors=[_("不支持的格式，请使用 csv 或 jsonl。")])
    if feed.authorise is not None:
        feed.authorise(actor)
    if feed.max_bytes is not None:
        size = source.stat().st_size if isinstance(source, Path) else len(source)
        if size > feed.max_bytes:
            raise FeedRejected(file_errors=[feed.too_large])
    kept = feed_check(feed, source, feed_format)
    return feed.write(kept, actor)


# --- stays: the national platform's itinerary ------------------------------------------------------
# A person is named by `id_number`, or by the document columns (api.md, "A person in a request";
# docs/identity.md): a row with `document_number` (or a `document_type` other than the resident ID)
# is keyed by that document.
DOCUMENT_COLUMNS = ("document_type", "document_number", "nationality")
STAY_COLUMNS = ("name", "id_number", "city_code", "arrived_at", "left_at", *DOCUMENT_COLUMNS)
_NULL = "\\N"


@dataclass(slots=True)
class ValidStays:
    """A checked stays file, ready to be written.

    `persons`: keyed digest -> (name, masked number, first line, document type, nationality, birth
    date as YYYY-MM-DD or None: from a resident ID or an 18-character permanent residence card's
    number). `stays`: blocks of staging rows in
    PostgreSQL's COPY text format, "line, digest, region, arrived_at, left_at" tab-separated, one a
    line (times in ISO 8601 with their offset, `\\N` for none): the checking processes write them,
    so that the writer streams them to the server as they are. `rows`: the file's rows. The plain
    ID number is not kept: only its digest and masked form leave the check.
    """

    persons: dict[str, tuple[str, str, int, str, str, str | None]]
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


class StayRows(RowValidator):
    """The API's rules on every stay, and the same number under another name among the rows.

    Each distinct ID number is checked and hashed once, each distinct time text parsed once.
    Context: (the region codes, now).
    """

    columns = STAY_COLUMNS
    required = ("name", "id_number|document_number", "city_code", "arrived_at")

    def __init__(self, context) -> None:
        super().__init__(context)
        self.regions, self.now = context
        # raw -> (digest, masked, type, nationality, birth date), or an error message
        self.numbers: dict[str, tuple | str] = {}
        # (type, number, nationality) as given -> the same, or the errors by column
        self.documents: dict[tuple, tuple | Errors] = {}
        self.times: dict[str, tuple[datetime, str] | str] = {}  # raw -> (moment, ISO text), or an error message
        # digest -> the name, masked number, line, ... it came with first (ValidStays.persons)
        self.persons: dict[str, tuple] = {}
        self.staged: list[str] = []

    @classmethod
    def context_load(cls):
        return frozenset(Region.objects.values_list("code", flat=True)), timezone.now()

    def row(self, line: int, values: dict) -> None:
        self.rows([(line, values)])

    def rows(self, records) -> int:
        """The one loop every stay goes through (locals, not attributes: a file has millions of rows).

        A time given as the canonical ISO 8601 with seconds and offset (what the platform sends) is
        staged as given; any other spelling as its parsed moment's ISO 8601 text. A name is
        normalised once per distinct spelling.
        """
        numbers, times, persons, staged, rejected = self.numbers, self.times, self.persons, self.staged, self.rejected
        names: dict[str, str] = {}
        regions, now = self.regions, self.now
        latest, earliest = now + timebounds.CLOCK_SKEW, timebounds.EARLIEST
        required, too_long, unknown_region = str(REQUIRED), str(NAME_TOO_LONG), str(UNKNOWN_REGION)
        left_before = str(LEFT_BEFORE_ARRIVED)

        def time_checked(value) -> tuple[datetime, str] | str:
            known = times.get(value) if type(value) is str else None
            if known is None:
                try:
                    moment = datetime.fromisoformat(value.strip()) if type(value) is str else None
                except ValueError:
                    moment = None
                if moment is None:
                    known = str(INVALID_TIME)
                else:
                    if moment.tzinfo is None:
                        moment = moment.replace(tzinfo=BEIJING)
                    if not earliest <= moment <= latest:
                        known = str(timebounds.past_time_errors(moment, now=now)[0])
                    elif len(value) == 25 and value[10] == "T" and value[19] in "+-" and value[22] == ":":
                        known = (moment, value)  # already "YYYY-MM-DDTHH:MM:SS+HH:MM", as isoformat() writes it
                    else:
                        known = (moment, moment.isoformat())
                if type(value) is str:
                    if len(times) > 1 << 20:
                        times.clear()  # memory stays bounded whatever the file
                    times[value] = known
            return known

        count = 0
        for line, values in records:
            count += 1
            if type(values) is str:
                rejected[line] = {"non_field_errors": [values]}
                continue
            errors: Errors = {}
            raw_name = values.get("name") or ""
            named = names.get(raw_name) if type(raw_name) is str else None
            if named is None:
                normal = name_normalise(raw_name)
                named = (normal, name_key(normal))
                if type(raw_name) is str:
                    if len(names) > 1 << 20:
                        names.clear()
                    names[raw_name] = named
            name = named[0]
            if not name:
                errors["name"] = [required]
            elif len(name) > 64:
                errors["name"] = [too_long]
            raw = values.get("id_number")
            known = None
            if values.get("document_number") or values.get("document_type"):
                known = self.document_checked(values, errors)
            if known is None:
                known = numbers.get(raw) if type(raw) is str else None
                if known is None:
                    known = _resident_checked(raw)
                    if type(raw) is str:
                        numbers[raw] = known
                if type(known) is str:
                    errors["id_number"] = [known]
            if type(known) is tuple and "name" not in errors:
                # Names are compared (name_key) on every row with a valid document, whatever else is wrong with it.
                first = persons.get(known[0])
                if first is None:
                    persons[known[0]] = (name, known[1], line, *known[2:])
                elif first[0] != name and name_key(first[0]) != named[1]:
                    errors["name"] = [str(OTHER_NAME_IN_FILE % {"line": first[2]})]
            region = values.get("city_code")
            if region not in regions:
                errors["city_code"] = [unknown_region if region else required]
            value = values.get("arrived_at")
            arrived = time_checked(value)
            if type(arrived) is str:
                errors["arrived_at"] = [arrived if value else required]
            value = values.get("left_at")
            left = None
            if value not in (None, ""):
                left = time_checked(value)
                if type(left) is str:
                    errors["left_at"] = [left]
                elif type(arrived) is not str and left[0] < arrived[0]:
                    errors["left_at"] = [left_before]
            if errors:
                rejected[line] = errors
                continue
            staged.append(f"{line}\t{known[0]}\t{region}\t{arrived[1]}\t{_NULL if left is None else left[1]}\n")
        return count

    def document_checked(self, values: dict, errors: Errors) -> tuple | None:
        """A row's document columns: (digest, masked, type, nationality, birth date), or None with its
        errors added (by column), or None for a row they leave to `id_number` (blank, or `resident_id`
        without a number). The one validator (health.identity.document_clean), once per distinct
        document; as in the API's person object, an `id_number` given too must still be valid.
        """
        kind, number, nationality = (values.get(column) for column in DOCUMENT_COLUMNS)
        kind = blank_to_none(kind)
        number = blank_to_none(number)
        if number is None and kind in (None, DocumentType.RESIDENT_ID):
            return None
        if type(number) is int:
            number = str(number)  # as the API's text field reads a JSON number
        nationality = blank_to_none(nationality)
        key = (kind, number, nationality)
        hashable = all(value is None or type(value) is str for value in key)
        known = self.documents.get(key) if hashable else None
        if known is None:
            try:
                document = document_clean(kind, number=number, nationality=nationality)
            except DjangoValidationError as error:
                known = {column: [str(text) for text in texts] for column, texts in error.message_dict.items()}
            else:
                born = document.birth_date.isoformat() if document.birth_date is not None else None
                known = (document.digest, document.masked, document.document_type, document.nationality, born)
            if hashable:
                if len(self.documents) > 1 << 20:
                    self.documents.clear()
                self.documents[key] = known
        raw = values.get("id_number")
        if blank_to_none(raw) is not None:
            resident = self.numbers.get(raw) if type(raw) is str else None
            if resident is None:
                resident = _resident_checked(raw)
            if type(resident) is str:
                errors["id_number"] = [resident]
        if type(known) is dict:
            errors.update(known)
            return None
        return known

    def kept(self) -> ValidStays:
        return ValidStays(persons=self.persons, stays=["".join(self.staged)], rows=len(self.staged))

    @classmethod
    def kept_merged(cls, parts: list[ValidStays]) -> ValidStays | None:
        persons: dict[str, tuple] = {}
        for part in parts:
            for digest, person in part.persons.items():
                # Within each part every row has its number's first name; so must the parts among themselves.
                first = persons.setdefault(digest, person)
                if first[0] != person[0] and name_key(first[0]) != name_key(person[0]):
                    return None
        return ValidStays(
            persons=persons, stays=[block for part in parts for block in part.stays], rows=sum(len(p) for p in parts)
        )


def _resident_checked(raw) -> tuple | str:
    """A row's `id_number`: (digest, masked, type, nationality, birth date), or the message of what is wrong."""
    try:
        # id_number_clean checks a canonical number in ~2 µs (health/identity.py), others with stdnum.
        number = id_number_clean(str(raw) if raw is not None else "")
    except DjangoValidationError as error:
        return str(error.messages[0])
    return (
        id_number_digest(number),
        id_number_mask(number),
        DocumentType.RESIDENT_ID,
        "",
        f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
    )


def stays_validate(path: Path, feed_format: str, *, processes: int | None = None) -> ValidStays:
    """Every stay checked (the API's rules), then the rows against each other; FeedRejected if any is bad."""
    return feed_check(registry.feed_kind("stays"), path, feed_format, processes=processes)


def _stays_import(valid: ValidStays, actor) -> dict:
    from health.selectors import user_organisation

    organisation = user_organisation(actor) if actor is not None else None
    source = organisation.kind if organisation is not None else Organisation.Kind.PLATFORM
    written, person_ids = stays_write(valid, source=source)
    return {"rows": len(valid), "written": written, "persons": len(person_ids)}


# --- the stays writers: persons, then the itinerary table ---------------------------------------
_PERSONS = "feed_persons"
_PERSONS_COLUMNS = (
    "digest varchar(64), name varchar(64), masked varchar(24), line integer, document_type varchar(32), "
    "nationality varchar(3), birth_date date, person_id bigint, stored_name varchar(64)"
)
_STAYS = "feed_stays"
_STAYS_COLUMNS = "line integer, digest varchar(64), region varchar(6), arrived_at timestamptz, left_at timestamptz"


@transaction.atomic
def stays_write(valid: ValidStays, *, source: str) -> tuple[int, list[int]]:
    """Write checked stays in this transaction; (stays written, persons marked dirty).

    Two writers, one per table, on PostgreSQL's staging tables: the persons (found by digest,
    created set-based with their status rows), then the itinerary (one upsert). A stay the file
    repeats (same person, city and arrival) is written once, from its last line.
    """
    if not bulk.is_postgresql():
        return _stays_write_portable(valid, source=source)
    bulk.temp_table_create(_PERSONS, _PERSONS_COLUMNS)
    bulk.temp_table_create(_STAYS, _STAYS_COLUMNS)
    bulk.copy_rows(
        _PERSONS,
        ["digest", "name", "masked", "line", "document_type", "nationality", "birth_date"],
        ((digest, *person) for digest, person in valid.persons.items()),
    )
    bulk.copy_text(_STAYS, ["line", "digest", "region", "arrived_at", "left_at"], valid.stays)
    with connection.cursor() as cursor:
        # Sorts and hashes of a large file in memory rather than in temporary files, for this transaction only.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(f"ANALYZE {_PERSONS}")
        cursor.execute(f"ANALYZE {_STAYS}")
        kept = _staged_persons_write(cursor)
        written = _staged_stays_write(cursor, source=source)
        # Two documents of one merged person lead to the same id.
        cursor.execute(f"SELECT DISTINCT person_id FROM {_PERSONS} ORDER BY person_id")
        person_ids = [pk for (pk,) in cursor.fetchall()]
    bulk.temp_table_drop(_STAYS)
    bulk.temp_table_drop(_PERSONS)
    declarations_kept_make_theirs(kept)
    persons_mark_dirty(person_ids, cause="itinerary_feed")
    return written, person_ids


def _staged_persons_write(cursor) -> dict[int, int]:
    """The persons table's writer: each staged person found or created (with a status row), its id staged.

    FeedRejected for a name that contradicts the stored person's; returns the declarations kept
    for these persons before they appeared (kept declaration id -> person id).
    """
    person, status, alias = Person._meta.db_table, HealthStatus._meta.db_table, PersonAlias._meta.db_table
    # Each person looked up once by digest: everything below reads the staging tables alone.
    cursor.execute(
        f"UPDATE {_PERSONS} f SET person_id = p.id, stored_name = p.name FROM {person} p WHERE p.id_digest = f.digest"
    )
    # A document left by a merge leads to the kept person, under the name registered with that document.
    cursor.execute(
        f"UPDATE {_PERSONS} f SET person_id = a.person_id, stored_name = a.name FROM {alias} a "
        f"WHERE f.person_id IS NULL AND a.digest = f.digest"
    )
    _conflicts_reject(cursor)
    # New persons and their status rows, set-based, each given its new id.
    cursor.execute(
        f"""
        WITH new AS (
            INSERT INTO {person} (name, id_digest, id_masked, document_type, nationality, birth_date, created_at)
            SELECT name, digest, masked, document_type, nationality, birth_date, now()
            FROM {_PERSONS} WHERE person_id IS NULL ORDER BY digest
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
    # Declarations kept for these persons before they appeared (by digest and the name, compared by name_key).
    cursor.execute(
        f"SELECT k.id, f.person_id, k.name, f.stored_name FROM {KeptDeclaration._meta.db_table} k "
        f"JOIN {_PERSONS} f ON f.digest = k.id_digest"
    )
    return {pk: person_id for pk, person_id, kept, stored in cursor.fetchall() if name_key(kept) == name_key(stored)}


def _staged_stays_write(cursor, *, source: str) -> int:
    """The itinerary table's writer: the staged stays upserted on (person, city, arrival); how many."""
    stay = ItineraryStay._meta.db_table
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
    return cursor.rowcount


def _conflicts_reject(cursor) -> None:
    """A name that contradicts the stored person's rejects the file (rolled back with it), naming the lines.

    Names are compared as the services compare them (`name_key`: Latin names case-insensitively):
    the database finds the persons whose names differ at all (none, usually), Python judges those.
    """
    cursor.execute(f"SELECT digest, name, stored_name FROM {_PERSONS} WHERE stored_name <> name")
    digests = [digest for digest, name, stored in cursor.fetchall() if name_key(name) != name_key(stored)]
    if not digests:
        return
    # The lines written for those persons: of a repeated stay, its last line (as written above).
    cursor.execute(
        f"""
        SELECT s.line, count(*) OVER () FROM (
            SELECT DISTINCT ON (digest, region, arrived_at) digest, line FROM {_STAYS}
            WHERE digest = ANY(%s)
            ORDER BY digest, region, arrived_at, line DESC
        ) s
        ORDER BY s.line LIMIT {REPORT_MAX}
        """,
        [digests],
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
        documents = {
            digest: PersonDocument(kind, nationality, date.fromisoformat(born) if born else None)
            for digest, (_name, _masked, _line, kind, nationality, born) in valid.persons.items()
            if digest in new
        }
        created = persons_create_many(new, documents=documents)
        _names_check(rows, valid, created)
        person_of.update(created)
    # Of a stay both documents of one merged person name, the last line (as on PostgreSQL).
    by_person = {
        (person_of[digest][0], region, arrived_at): ItineraryStay(
            person_id=person_of[digest][0], region_id=region, arrived_at=arrived_at, left_at=left_at, source=source
        )
        for _line, digest, region, arrived_at, left_at in rows
    }
    stays = list(by_person.values())
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
        row[0] for row in rows if row[1] in stored and name_key(stored[row[1]][1]) != name_key(valid.persons[row[1]][0])
    ]  # fmt: skip
    if conflicts:
        raise _rejection({line: {"name": [str(OTHER_NAME_STORED)]} for line in conflicts})


# --- the small feeds: the API's serializers and the services, row by row ----------------------
DESIGNATION_COLUMNS = ("name", "id_number", "kind", "designated_at", "cleared_at")
RISK_AREA_COLUMNS = ("region_code", "level", "effective_from", "effective_to")


def flat_errors(detail, field_name: str | None = None, out: dict | None = None) -> Errors:
    """DRF's nested errors as {column: [messages]} (a nested person's fields are the file's columns)."""
    out = {} if out is None else out
    if isinstance(detail, dict):
        for key, inner in detail.items():
            flat_errors(inner, field_name if key in ("non_field_errors", "person") and field_name else key, out)
    elif isinstance(detail, list | tuple):
        for inner in detail:
            flat_errors(inner, field_name, out)
    else:
        out.setdefault(field_name or "non_field_errors", []).append(str(detail))
    return out


def blank_to_none(value):
    return None if isinstance(value, str) and not value.strip() else value


class SerializerRows(RowValidator):
    """A kind whose rows are the API's create input: each row checked by the API's own serializer.

    A subclass names the serializer and turns a row into its payload; `valid(line, data)` is
    what it keeps of a valid row (the serializer's validated data by default).
    """

    serializer_class: ClassVar[type]

    def __init__(self, context) -> None:
        super().__init__(context)
        self.valid_rows: list = []
        # One serializer for every row (as DRF's many=True does): its fields are built once, not per row.
        self.serializer = self.serializer_class(context=self.serializer_context())

    def serializer_context(self) -> dict:
        return {}

    def payload(self, values: dict) -> dict:
        raise NotImplementedError

    def errors(self, detail) -> Errors:
        return flat_errors(detail)

    def valid(self, line: int, data: dict):
        return data

    def row(self, line: int, values: dict) -> None:
        from rest_framework.exceptions import ValidationError

        try:
            data = self.serializer.run_validation(self.payload(values))
        except ValidationError as error:
            self.rejected[line] = self.errors(error.detail)
            return
        self.valid_rows.append(self.valid(line, data))

    def kept(self) -> list:
        return self.valid_rows


class DesignationRows(SerializerRows):
    # A person named by `id_number` or by the document columns, as in the stays file.
    columns = DESIGNATION_COLUMNS + DOCUMENT_COLUMNS
    required = ("name", "id_number|document_number", "kind", "designated_at", "cleared_at")

    @property
    def serializer_class(self):
        from health.api.serializers import DesignationCreateInputSerializer

        return DesignationCreateInputSerializer

    def payload(self, values: dict) -> dict:
        row = {key: blank_to_none(value) for key, value in values.items()}
        person = {"name": row.get("name"), "id_number": row.get("id_number")}
        person.update((column, row[column]) for column in DOCUMENT_COLUMNS if row.get(column) is not None)
        if person["id_number"] is None and ("document_number" in person or "document_type" in person):
            del person["id_number"]  # the document columns name the person
        return {
            "person": person,
            **{key: row.get(key) for key in ("kind", "designated_at", "cleared_at") if row.get(key) is not None},
        }


class RiskAreaRows(SerializerRows):
    columns = RISK_AREA_COLUMNS
    required = RISK_AREA_COLUMNS

    @property
    def serializer_class(self):
        from health.api.serializers import RiskAreaCreateInputSerializer

        return RiskAreaCreateInputSerializer

    def payload(self, values: dict) -> dict:
        return {key: value for key, value in ((k, blank_to_none(v)) for k, v in values.items()) if value is not None}


def designations_write(rows: list[dict], actor) -> dict:
    """The designations table, through its service (row by row, one transaction)."""
    from health.services.designations import designation_create

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
    return {"rows": len(rows)}


def risk_areas_write(rows: list[dict], actor) -> dict:
    """The risk areas table, through its service (row by row, one transaction)."""
    from health.services.risk_areas import risk_area_create

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
    return {"rows": len(rows)}


STAYS = FeedKind(name="stays", validator=StayRows, write=_stays_import, parallel=True)
DESIGNATIONS = FeedKind(name="designations", validator=DesignationRows, write=designations_write)
RISK_AREAS = FeedKind(name="risk-areas", validator=RiskAreaRows, write=risk_areas_write)
CORE_KINDS = (STAYS, DESIGNATIONS, RISK_AREAS)
