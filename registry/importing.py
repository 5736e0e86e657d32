"""Bulk import of elevators from CSV or XLSX: every row checked, a per-row error report, valid
rows inserted or updated by register code. Pure reading and checking first; one write at the end."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.codes import KIND_BY_CATEGORY, make_qr_code, validate_register_code
from registry.models import District, Elevator, Organisation, OrgKind
from registry.places import LABELS_ZH, is_key_place, place_category

COLUMNS = (
    "register_code",
    "address",
    "district_code",
    "lat",
    "lon",
    "floors",
    "installed_on",
    "use_unit_code",
    "maintenance_unit_code",
    "next_inspection_due",
    # the record (migration 0014); optional
    "manufacturer_code",
    "model",
    "factory_number",
    "installer_code",
    "use_certificate_no",
    "place_category",
    "key_place",
    "rated_load_kg",
    "rated_speed",
)
REQUIRED = ("register_code", "address", "district_code", "lat", "lon", "use_unit_code", "maintenance_unit_code")
# The header row may use the Chinese column names of the provincial template.
ALIASES = {
    "设备注册代码": "register_code",
    "安装地址": "address",
    "区县代码": "district_code",
    "纬度": "lat",
    "经度": "lon",
    "层站数": "floors",
    "安装日期": "installed_on",
    "使用单位编码": "use_unit_code",
    "维保单位编码": "maintenance_unit_code",
    "下次检验日期": "next_inspection_due",
    "制造单位编码": "manufacturer_code",
    "型号": "model",
    "产品型号": "model",
    "出厂编号": "factory_number",
    "安装单位编码": "installer_code",
    "使用登记证编号": "use_certificate_no",
    "场所类别": "place_category",
    "重点场所": "key_place",
    "额定载重量": "rated_load_kg",
    "额定载荷": "rated_load_kg",
    "额定速度": "rated_speed",
}
MAX_ROWS = 50_000
# What an XLSX may unpack to: 50,000 rows of the widest template are ~40 MB of sheet XML. The sizes
# come from the zip's directory, which cannot lie (a member is cut at its stated size and then fails
# its CRC), so a zip bomb is refused before a byte of it is inflated.
MAX_XLSX_INFLATED = 128 * 1024 * 1024


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, missing columns)."""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"row": n, "errors": {column: [msg]}}

    @property
    def valid_rows(self) -> int:
        return self.rows - len(self.errors)


def read_rows(
    data: bytes,
    filename: str,
    *,
    columns: tuple[str, ...] = COLUMNS,
    aliases: dict[str, str] = ALIASES,
    required: tuple[str, ...] = REQUIRED,
    prefixes: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """The rows of a CSV or XLSX file as {column: cell}, by the header row (Chinese names through
    `aliases`); columns that start with one of `prefixes` (e.g. "attr.") are kept too."""
    if filename.lower().endswith(".xlsx"):
        values = _capped(_xlsx_rows(data))
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030", errors="strict")  # Excel on Chinese Windows saves CSV as GBK
            except UnicodeDecodeError as err:
                raise ImportFileError(f"not a CSV text file: neither UTF-8 nor GBK (byte {err.start})") from err
        try:
            values = _capped(csv.reader(io.StringIO(text)))
        except csv.Error as err:  # a cell past the csv module's field limit (128 KB), a stray NUL
            raise ImportFileError(f"not a readable CSV file: {err}") from err
    if not values:
        raise ImportFileError("the file is empty")
    header = [aliases.get(str(h or "").strip(), str(h or "").strip()) for h in values[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFileError(f"missing columns: {', '.join(missing)} (expected: {', '.join(columns)})")
    kept = {h for h in header if h in columns or (prefixes and h.startswith(prefixes))}
    rows = []
    for raw in values[1:]:
        if not any(v not in (None, "") for v in raw):
            rows.append({})  # keep row numbering; blank rows are skipped later
            continue
        rows.append({h: raw[i] if i < len(raw) else None for i, h in enumerate(header) if h in kept})
    return rows


def _xlsx_rows(data: bytes) -> Iterator[Sequence[Any]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as err:
        raise ImportFileError(f"not a readable XLSX file: {err}") from err
    if inflated > MAX_XLSX_INFLATED:
        raise ImportFileError(
            f"the XLSX file unpacks to {inflated // 2**20} MB; at most {MAX_XLSX_INFLATED // 2**20} MB are read"
        )
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        yield from sheet.iter_rows(values_only=True)
    except ImportFileError:
        raise
    except Exception as err:  # openpyxl raises several kinds for a broken file
        raise ImportFileError(f"not a readable XLSX file: {err}") from err


def _capped(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """The header and at most MAX_ROWS rows; reading stops at the first row past the limit, so a
    file of a million rows costs no more than one of MAX_ROWS + 1."""
    values: list[list[Any]] = []
    for row in rows:
        if len(values) > MAX_ROWS:
            raise ImportFileError(f"at most {MAX_ROWS} rows per file")
        values.append(list(row))
    return values


def parse_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value if not hasattr(value, "date") else value.date()
    return date.fromisoformat(str(value).strip())


# Records an error against a column (the report lists them by column, in the order found).
Fail = Callable[[str, str], None]
COORDINATE_RANGES = (("lat", 20.0, 45.0), ("lon", 95.0, 125.0))
ORG_COLUMNS = (
    ("use_unit_code", OrgKind.USE_UNIT, "use_unit_id"),
    ("maintenance_unit_code", OrgKind.MAINTENANCE_UNIT, "maintenance_unit_id"),
    ("manufacturer_code", OrgKind.MANUFACTURER, "manufacturer_id"),
    ("installer_code", OrgKind.INSTALLER, "installer_id"),
)
TEXT_COLUMNS = (("model", 60), ("factory_number", 40), ("use_certificate_no", 40))
# column, low, high, whole number?
RATINGS = (("rated_load_kg", 100, 20_000, True), ("rated_speed", 0.1, 10.0, False))
YES = {"1", "true", "yes", "y", "是", "√"}
NO = {"0", "false", "no", "n", "否", ""}


def check_coordinates(row: dict[str, Any], clean: dict[str, Any], fail: Fail) -> None:
    for column, low, high in COORDINATE_RANGES:
        value = row.get(column)
        if value in (None, ""):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            fail(column, "must be a number")
            continue
        if not low <= number <= high:
            fail(column, f"must be between {low} and {high}")
        clean[column] = number


def _check_floors(row: dict[str, Any], clean: dict[str, Any], fail: Fail) -> None:
    floors = row.get("floors")
    if floors in (None, ""):
        return
    try:
        clean["floors"] = int(floors)
        if not 2 <= clean["floors"] <= 200:
            fail("floors", "must be between 2 and 200")
    except (TypeError, ValueError):
        fail("floors", "must be a whole number")


def check_dates(
    row: dict[str, Any],
    clean: dict[str, Any],
    fail: Fail,
    columns: tuple[str, ...] = ("installed_on", "next_inspection_due"),
) -> None:
    for column in columns:
        try:
            clean[column] = parse_date(row.get(column))
        except ValueError:
            fail(column, "must be a date (YYYY-MM-DD)")


def check_record(row: dict[str, Any], clean: dict[str, Any], fail: Fail) -> None:
    """The record's optional facts: texts, ratings, place category and the key-place flag (which
    follows the category unless the row says otherwise)."""
    for column, length in TEXT_COLUMNS:
        text = str(row.get(column) or "").strip()
        if len(text) > length:
            fail(column, f"at most {length} characters")
        elif text:
            clean[column] = text
    for column, low, high, whole in RATINGS:
        value = row.get(column)
        if value in (None, ""):
            continue
        try:
            number: float = float(value)
            if whole:
                number = int(number) if number == int(number) else float("nan")
        except (TypeError, ValueError, OverflowError):
            number = float("nan")
        if number != number:  # NaN: not a number of the right kind
            fail(column, "must be a whole number" if whole else "must be a number")
        elif not low <= number <= high:
            fail(column, f"must be between {low} and {high}")
        else:
            clean[column] = number
    category_cell = str(row.get("place_category") or "").strip()
    category = place_category(category_cell) if category_cell else None
    if category_cell and category is None:
        fail("place_category", f"unknown place category {category_cell} (known: {', '.join(LABELS_ZH)})")
    if category:
        clean["place_category"] = category
    flag = str(row.get("key_place") if row.get("key_place") is not None else "").strip().lower()
    if flag in YES:
        clean["key_place"] = True
    elif flag and flag not in NO:
        fail("key_place", "must be 是/否 (yes/no)")
    elif flag:
        clean["key_place"] = False
    elif category:
        clean["key_place"] = is_key_place(category)


def check_organisations(
    row: dict[str, Any], orgs: dict[str, tuple[int, str]], clean: dict[str, Any], fail: Fail
) -> None:
    """Each unit code must name a known organisation of the right kind; clean gets its id."""
    for column, kind, target in ORG_COLUMNS:
        org_code = str(row.get(column) or "").strip()
        if not org_code:
            continue
        found = orgs.get(org_code)
        if found is None:
            fail(column, f"unknown organisation {org_code}")
        elif found[1] != kind:
            fail(column, f"{org_code} is a {found[1]}, not a {kind}")
        else:
            clean[target] = found[0]


def check_row(
    row: dict[str, Any], districts: set[str], orgs: dict[str, tuple[int, str]], province_prefix: str | None = None
) -> tuple[dict, dict]:
    """(clean values, errors by column) for one row."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}

    def fail(column: str, message: str) -> None:
        errors.setdefault(column, []).append(message)

    for column in REQUIRED:
        if row.get(column) in (None, ""):
            fail(column, "required")
    code = str(row.get("register_code") or "").strip()
    if code:
        for problem in validate_register_code(code, province_prefix):
            fail("register_code", problem)
        clean["register_code"] = code
        clean["kind"] = KIND_BY_CATEGORY.get(code[:4], "traction")
    clean["address"] = str(row.get("address") or "").strip()[:200]
    district = str(row.get("district_code") or "").strip()
    if district and district not in districts:
        fail("district_code", f"unknown district {district}")
    clean["district_code"] = district
    check_coordinates(row, clean, fail)
    _check_floors(row, clean, fail)
    check_dates(row, clean, fail)
    check_organisations(row, orgs, clean, fail)
    check_record(row, clean, fail)
    return clean, errors


def import_elevators(
    session: Session, rows: list[dict[str, Any]], *, dry_run: bool = False, province_prefix: str | None = None
) -> ImportReport:
    """Check every row; unless `dry_run`, insert new register codes and update known ones.
    Rows with errors are reported and left out; the valid ones go in one transaction.
    `province_prefix`: the city profile's; codes of another province are refused."""
    districts = set(session.scalars(select(District.code)))
    orgs = {
        code: (oid, kind)
        for oid, code, kind in session.execute(select(Organisation.id, Organisation.code, Organisation.kind))
    }
    report = ImportReport()
    seen: dict[str, int] = {}
    good: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header, as in the spreadsheet
        if not row:
            continue
        report.rows += 1
        clean, errors = check_row(row, districts, orgs, province_prefix)
        code = clean.get("register_code")
        if code and code in seen:
            errors.setdefault("register_code", []).append(f"repeats row {seen[code]}")
        if errors:
            report.errors.append({"row": number, "errors": errors})
            continue
        seen[code] = number
        good.append(clean)
    if dry_run or not good:
        return report
    existing = {
        e.register_code: e
        for e in session.scalars(select(Elevator).where(Elevator.register_code.in_([g["register_code"] for g in good])))
    }
    for clean in good:
        elevator = existing.get(clean["register_code"])
        if elevator is None:
            session.add(Elevator(qr_code=make_qr_code(clean["register_code"]), **clean))
            report.created += 1
        else:
            for key, value in clean.items():
                if value is not None:
                    setattr(elevator, key, value)
            report.updated += 1
    session.flush()
    return report
