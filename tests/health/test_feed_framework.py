"""One feed framework in the core: kinds registered by their apps, one reader per format, checking on a process pool."""
import ast
import csv
import dataclasses
from pathlib import Path

import pytest
from django.core.management import call_command

from health import feeds, registry

ROOT = Path(__file__).resolve().parent.parent.parent
pytestmark = pytest.mark.django_db


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    "module", ["health/feeds.py", "health/registry.py", "health/management/commands/import_feed.py"]
)
def test_the_feed_framework_imports_no_app(module):
    # given the framework's modules, function-level imports included
    modules = imported_modules(ROOT / module)
    # then none names an app above the core
    assert sorted(m for m in modules if m.split(".")[0] in ("entrants", "communities", "hotels")) == []


def test_the_parallel_check_is_the_standard_process_pool_not_a_hand_made_fork():
    source = (ROOT / "health/feeds.py").read_text(encoding="utf-8")
    assert "ProcessPoolExecutor" in source
    assert "os.fork" not in source and "os.pipe" not in source


def test_the_core_kinds_and_the_entrants_kind_registered_by_its_app_are_one_framework():
    # the entrants app registers its kind from its AppConfig.ready; the core its own
    assert registry.feed_kind_names() == ["stays", "designations", "risk-areas", "entrants"]
    entrants = registry.feed_kind("entrants")
    assert entrants.validator.__module__ == "entrants.feed"
    assert isinstance(entrants, feeds.FeedKind)


class CodeRows(feeds.RowValidator):
    """A kind made for this test: one column, a row with "bad" refused, the codes kept."""

    columns = ("code", "note")
    required = ("code",)

    def __init__(self, context):
        super().__init__(context)
        self.codes = []

    def row(self, line, values):
        if values.get("code") == "bad":
            self.rejected[line] = {"code": ["坏"]}
        else:
            self.codes.append((line, values["code"]))

    def kept(self):
        return self.codes

    @classmethod
    def kept_merged(cls, parts):
        return [row for part in parts for row in part]


@pytest.fixture
def code_kind():
    written = []
    kind = feeds.FeedKind(
        name="codes-under-test",
        validator=CodeRows,
        write=lambda kept, actor: written.append(kept) or {"rows": len(kept)},
        max_rows=5,
        too_large="太大",
        parallel=True,
    )
    registry.register_feed(kind)
    yield kind, written
    registry._feed_kinds.pop(kind.name)


def write_codes(path, codes):
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(["code"])
        writer.writerows([code] for code in codes)
    return path


def test_a_kind_registered_from_outside_gets_the_readers_the_report_and_the_limits(tmp_path, code_kind):
    kind, written = code_kind
    # a good file: every row handed to the kind's writer with its line
    assert feeds.feed_import(kind=kind.name, path=write_codes(tmp_path / "a.csv", ["x", "y"])) == {"rows": 2}
    assert written == [[(2, "x"), (3, "y")]]
    # a bad row: the whole file refused, nothing written
    with pytest.raises(feeds.FeedRejected) as raised:
        feeds.feed_import(kind=kind.name, path=write_codes(tmp_path / "b.csv", ["x", "bad", "y", "bad"]))
    assert raised.value.rejected == [{"line": 3, "errors": {"code": ["坏"]}}, {"line": 5, "errors": {"code": ["坏"]}}]
    assert len(written) == 1
    # an unknown column, in JSON lines too
    with pytest.raises(feeds.FeedRejected) as raised:
        feeds.feed_import(kind=kind.name, content=b'{"code": "x"}\n{"other": 1}\n', feed_format="jsonl")
    assert [row["line"] for row in raised.value.rejected] == [2]
    # more rows than the kind allows
    with pytest.raises(feeds.FeedRejected) as raised:
        feeds.feed_import(kind=kind.name, path=write_codes(tmp_path / "c.csv", ["x"] * 6))
    assert raised.value.payload() == {"file": ["太大"]}


def test_a_kind_checked_on_the_process_pool_keeps_what_one_process_keeps(tmp_path, code_kind, monkeypatch):
    kind, _written = code_kind
    monkeypatch.setattr(feeds, "PARALLEL_MIN_BYTES", 0)
    path = write_codes(tmp_path / "a.csv", [f"c{index}" for index in range(1000)])
    # the row limit holds on the pool too
    with pytest.raises(feeds.FeedRejected, match="0 rejected"):
        feeds.feed_check(kind, path, "csv", processes=3)
    kind = dataclasses.replace(kind, max_rows=None)
    assert feeds.feed_check(kind, path, "csv", processes=3) == feeds.feed_check(kind, path, "csv", processes=1)
    assert len(feeds.feed_check(kind, path, "csv", processes=3)) == 1000


def test_the_import_command_offers_every_registered_kind(tmp_path, code_kind, capsys):
    kind, written = code_kind
    call_command("import_feed", kind.name, str(write_codes(tmp_path / "a.csv", ["x"])))
    assert '"rows": 1' in capsys.readouterr().out
    assert written == [[(2, "x")]]


def test_a_stays_row_spanning_lines_is_reported_at_the_line_it_starts_on(tmp_path):
    # given a stays CSV whose second record has a quoted name over two lines and no valid number
    path = tmp_path / "stays.csv"
    path.write_text(
        'name,id_number,city_code,arrived_at,left_at\n"张\n三",123,110105,2026-01-01T08:00:00+08:00,\n', encoding="utf-8"
    )
    # then it is reported at line 2, as the entrants feed reports it (one reader for both)
    with pytest.raises(feeds.FeedRejected) as raised:
        feeds.stays_validate(path, "csv", processes=1)
    assert [row["line"] for row in raised.value.rejected] == [2]


def test_a_stays_header_repeating_a_column_is_refused_at_line_1(tmp_path):
    path = tmp_path / "stays.csv"
    path.write_text("name,id_number,city_code,arrived_at,arrived_at\n", encoding="utf-8")
    with pytest.raises(feeds.FeedRejected) as raised:
        feeds.stays_validate(path, "csv", processes=1)
    assert raised.value.rejected == [{"line": 1, "errors": {"header": ["重复的列：arrived_at"]}}]


def test_a_stay_time_in_any_accepted_spelling_is_staged_as_the_same_moment(tmp_path):
    # given one moment spelled canonically (staged as sent), naive (Beijing), in UTC and with a space
    from tests import factories

    spellings = ["2026-11-01T08:00:00+08:00", "2026-11-01T08:00:00", "2026-11-01T00:00:00Z", "2026-11-01 08:00:00+08:00"]
    path = tmp_path / "stays.csv"
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(["name", "id_number", "city_code", "arrived_at", "left_at"])
        number = factories.id_number()
        writer.writerows(["张三", number, "110105", spelling, ""] for spelling in spellings)
    # when it is checked
    valid = feeds.stays_validate(path, "csv", processes=1)
    # then every row stages the same instant, with its offset
    arrivals = [arrived_at for _line, _digest, _region, arrived_at, _left in valid.stay_rows()]
    assert len(set(arrivals)) == 1 and all(moment.utcoffset() is not None for moment in arrivals)
    assert valid.stays[0].split("\n")[0].split("\t")[3] == spellings[0]
