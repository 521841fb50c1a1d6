"""A bundle's details CSV mapped onto a submission: one data row, US dates, the seeds' columns."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

from chalicelib.bundles.archive import BundleRefused
from chalicelib.config import Settings
from chalicelib.domain.submission import Submission
from chalicelib.errors import InvalidInput
from chalicelib.http.validation import parse_submission

COLUMNS = {  # CSV column -> submission field
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "CITY_IN_ADDRESS": "city",
    "ZIP_CODE_IN_ADDRESS": "zip_code",
    "STATE_IN_ADDRESS": "state",
    "DOCUMENT_NUMBER": "id_value",
    "DATE_OF_BIRTH": "date_of_birth",
    "ADDRESS": "address",
}
OPTIONAL_COLUMNS = {"EMAIL": "email", "MIDDLE_NAME": "middle_name", "PHONE_NUMBER": "phone_number"}
OVERRIDE_COLUMN = "VALIDATION_OVERRIDE"
ID_TYPE = "Driving license"
PLACEHOLDER_EMAIL = "bundle@example.com"  # validated in place of a missing EMAIL, then replaced


def us_date(value: str) -> str:
    """'01/12/1957' or '1/12/1957' (month first) or '1957-01-12' -> '1957-01-12'."""
    value = value.strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)
    try:
        if m:
            return dt.date(int(m[3]), int(m[1]), int(m[2])).isoformat()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise BundleRefused("bad_date", "DATE_OF_BIRTH must be a real date as MM/DD/YYYY")


def zip_code(value: str) -> str:
    value = value.strip()
    return f"{value[:5]}-{value[5:]}" if re.fullmatch(r"\d{9}", value) else value


def parse_details(data: bytes) -> dict[str, str]:
    """The one data row of the CSV as {COLUMN: value} (header names upper-cased)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BundleRefused("csv_encoding", "the details CSV is not UTF-8") from None
    if "\x00" in text:
        raise BundleRefused("csv_format", "the details CSV contains NUL characters")
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
    except csv.Error:
        raise BundleRefused("csv_format", "the details CSV cannot be parsed") from None
    if not rows:
        raise BundleRefused("csv_format", "the details CSV is empty")
    header = [h.strip().upper() for h in rows[0]]
    if len(set(header)) != len(header):
        raise BundleRefused("csv_columns", "the details CSV repeats a column")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise BundleRefused("csv_columns", "the details CSV lacks columns: " + ", ".join(missing))
    if len(rows) != 2:
        raise BundleRefused("csv_rows", f"the details CSV must have exactly one data row, not {len(rows) - 1}")
    if len(rows[1]) != len(header):
        raise BundleRefused("csv_format", "the data row does not have as many values as the header")
    return dict(zip(header, (v.strip() for v in rows[1]), strict=True))


def override_of(row: dict[str, str]) -> bool | None:
    value = row.get(OVERRIDE_COLUMN, "").strip().lower()
    return {
        "true": True,
        "valid": True,
        "1": True,
        "yes": True,
        "false": False,
        "invalid": False,
        "0": False,
        "no": False,
    }.get(value)


def submission_body(row: dict[str, str], links: list[dict[str, str]]) -> dict[str, Any]:
    body: dict[str, Any] = {field: row[col] for col, field in COLUMNS.items()}
    for col, field in OPTIONAL_COLUMNS.items():
        if row.get(col):
            body[field] = row[col]
    body.setdefault("email", PLACEHOLDER_EMAIL)
    body["date_of_birth"] = us_date(row["DATE_OF_BIRTH"])
    body["zip_code"] = zip_code(row["ZIP_CODE_IN_ADDRESS"]) or None
    body["id_type"] = ID_TYPE
    body["document_links"] = links
    return {k: v for k, v in body.items() if v not in ("", None)}


def to_submission(
    row: dict[str, str], links: list[dict[str, str]], tenant: str, app_uuid: str, settings: Settings
) -> Submission:
    """The validated Submission (same parse_submission as the API): a row without EMAIL is keyed
    by the app_uuid."""
    try:
        sub = parse_submission(submission_body(row, links), settings.stage, tenant, settings)
    except InvalidInput as exc:  # messages name fields, never values
        raise BundleRefused("invalid_details", exc.message, exc.details) from None
    if not row.get("EMAIL"):
        sub = Submission(details={**sub.details, "email": app_uuid.lower()}, document_links=sub.document_links)
    return sub
