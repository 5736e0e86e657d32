"""Reading a source's register export (the provincial platform's CSV, XLSX or JSON, a maintenance
system's, an inspection institute's): its rows, and each row as the fields it states about one
record, checked as the register's own imports check them. Pure: the caller supplies what is known."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from registry.equipment import importing as equipment_import
from registry.importing import ALIASES as ELEVATOR_ALIASES
from registry.importing import COLUMNS as ELEVATOR_COLUMNS
from registry.importing import MAX_ROWS, ImportFileError, check_row, read_rows
from registry.sync.fields import COLUMN_OF, ELEVATOR, TRACKED

COLUMNS = tuple(dict.fromkeys((*ELEVATOR_COLUMNS, *equipment_import.COLUMNS)))
ALIASES = {**ELEVATOR_ALIASES, **equipment_import.ALIASES}
KEY = ("register_code",)


def read_export(data: bytes, filename: str) -> list[dict[str, Any]]:
    """The rows of an export as {column: cell}; JSON is a list of objects or {"records": [...]}
    with the same column names (Chinese names too)."""
    if not filename.lower().endswith(".json"):
        return read_rows(data, filename, columns=COLUMNS, aliases=ALIASES, required=KEY)
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ImportFileError(f"not a readable JSON file: {err}") from err
    records = document.get("records") if isinstance(document, dict) else document
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ImportFileError('expected a list of objects, or {"records": [...]}')
    if len(records) > MAX_ROWS:
        raise ImportFileError(f"at most {MAX_ROWS} rows per file")
    rows = []
    for record in records:
        row = {ALIASES.get(str(k).strip(), str(k).strip()): v for k, v in record.items()}
        rows.append({k: v for k, v in row.items() if k in COLUMNS})
    return rows


@dataclass(frozen=True)
class Known:
    districts: set[str]
    orgs: dict[str, tuple[int, str]]  # code -> (id, kind)
    province_prefix: str | None


def stated(row: dict[str, Any]) -> set[str]:
    """The columns a row gives a value in (an empty cell says nothing: it never clears a field)."""
    return {k for k, v in row.items() if v not in (None, "")}


def row_fields(row: dict[str, Any], record_type: str, known: Known) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(the tracked fields the row states, errors by column) for a row about a record of that type.
    Columns the row leaves out are not errors: an export may carry only some of the facts."""
    given = stated(row)
    if record_type == ELEVATOR:
        clean, errors = check_row(row, known.districts, known.orgs, known.province_prefix)
    else:
        references = equipment_import.KnownReferences(known.districts, known.orgs, known.province_prefix)
        clean, errors = equipment_import.check_equipment_row(row, references)
    errors = {
        column: kept
        for column, messages in errors.items()
        if (kept := [m for m in messages if not (m == "required" and column not in given)])
    }
    errors.pop("equipment_class", None)  # the record's class is the register's, not the export's
    fields = {}
    for field in TRACKED[record_type]:
        column = COLUMN_OF.get(field, field)
        follows_category = field == "key_place" and "place_category" in given
        if (column in given or follows_category) and field in clean:
            fields[field] = clean[field]
    return fields, errors
