"""``io.rows``: rows files that round-trip their values, resume, drop a row cut short,
refuse another sweep's file and end in grid order (direct tests; the sweep command's
use of them is in test_sweep.py)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from ntkcheck.errors import NtkcheckError
from ntkcheck.io.rows import open_rows, rows_format

COLUMNS = ("index", "gamma", "status", "ok", "note")
TYPES = {"index": "int", "gamma": "float", "status": "str", "ok": "bool", "note": "str"}
ROWS = [
    {"index": 2, "gamma": 0.1, "status": "certified", "ok": True, "note": None},
    {"index": 0, "gamma": 1e-300, "status": "not_certified", "ok": False, "note": 'a, "b"'},
    {"index": 1, "gamma": 123456789.125, "status": "error", "ok": None, "note": "π ✓"},
]
FORMATS = ["rows.csv", "rows.jsonl", "rows.ndjson"]
if importlib.util.find_spec("pyarrow") is not None:
    FORMATS.append("rows.parquet")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.csv", "csv"), ("a.CSV", "csv"), ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl")],
)
def test_the_format_is_the_extension(tmp_path, name, fmt):
    assert rows_format(tmp_path / name) == fmt


def test_an_unknown_extension_is_one_line(tmp_path):
    with pytest.raises(NtkcheckError, match=r"use \.csv, \.jsonl or \.parquet"):
        rows_format(tmp_path / "rows.txt")


def _index(row):
    return row["index"]


@pytest.mark.parametrize("name", FORMATS)
def test_rows_round_trip_and_resume(tmp_path, name):
    path = tmp_path / name
    f = open_rows(path, COLUMNS, TYPES)
    assert f.existing == []
    for row in ROWS[:2]:
        f.append(row)
    f.close()
    f = open_rows(path, COLUMNS, TYPES)  # resumed: the rows so far, values exact
    # (in completion order for CSV and JSON Lines; Parquet's parts in no set order)
    assert sorted(f.existing, key=_index) == sorted(ROWS[:2], key=_index)
    f.append(ROWS[2])
    f.close(rank=_index)
    assert open_rows(path, COLUMNS, TYPES).existing == sorted(ROWS, key=_index)  # grid order


@pytest.mark.parametrize("name", ["rows.csv", "rows.jsonl"])
def test_a_row_cut_short_is_dropped(tmp_path, name):
    path = tmp_path / name
    f = open_rows(path, COLUMNS, TYPES)
    f.append(ROWS[0])
    f.append(ROWS[1])
    f.close()
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:-5], encoding="utf-8")  # a kill in the middle of the last row
    assert open_rows(path, COLUMNS, TYPES).existing == ROWS[:1]


def test_csv_cells_are_written_as_their_values(tmp_path):
    path = tmp_path / "rows.csv"
    f = open_rows(path, COLUMNS, TYPES)
    f.append(ROWS[0])
    f.close()
    assert path.read_text(encoding="utf-8") == (
        "index,gamma,status,ok,note\n2,0.1,certified,true,\n"
    )


def test_jsonl_rows_are_objects_in_column_order(tmp_path):
    path = tmp_path / "rows.jsonl"
    f = open_rows(path, COLUMNS, TYPES)
    f.append({**ROWS[2], "extra": 1})  # only the columns are written
    f.close()
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert line == json.dumps({c: ROWS[2][c] for c in COLUMNS}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("rows.csv", "index,gamma,other\n", "it has other; it lacks status, ok, note"),
        ("rows.csv", "gamma,index,status,ok,note\n", "columns in another order"),
        ("rows.jsonl", '{"index": 1}\n', "it lacks gamma, status, ok, note"),
        ("rows.jsonl", "[1, 2]\n", "rows of another sweep"),
        ("rows.csv", "my notes", "rows of another sweep"),
    ],
)
def test_another_sweeps_file_is_refused_untouched(tmp_path, name, text, fragment):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NtkcheckError, match="the file holds rows of another sweep") as exc:
        open_rows(path, COLUMNS, TYPES)
    assert fragment in str(exc.value)
    assert path.read_text(encoding="utf-8") == text


def test_a_header_cut_short_starts_again(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("index,gam", encoding="utf-8")
    f = open_rows(path, COLUMNS, TYPES)
    assert f.existing == []
    f.close()
    assert path.read_text(encoding="utf-8") == "index,gamma,status,ok,note\n"


def test_an_edited_row_is_named_by_its_line(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("index,gamma,status,ok,note\n1,0.5,certified,true,\n1,x,a,true,\n")
    with pytest.raises(NtkcheckError, match=r"rows.csv:3: cannot read a cell"):
        open_rows(path, COLUMNS, TYPES)
    path.write_text("index,gamma,status,ok,note\n1,0.5\n")
    with pytest.raises(NtkcheckError, match=r"rows.csv:2: 2 cells, expected 5"):
        open_rows(path, COLUMNS, TYPES)


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(NtkcheckError, match="is a folder"):
        open_rows(tmp_path / "d.csv", COLUMNS, TYPES)
