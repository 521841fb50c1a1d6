"""The details check: what the document says against what the customer submitted.

Every reading of a required field counts (each page of the response, each valid MRZ), the most
favourable one deciding, so a misread page never outweighs a readable one. A reading's
confidence decides whether a disagreement rejects (a clear, plausible reading) or asks for a
person (a shaky one); dates are only readings when plausible against `today`; machine-readable
data and pages that disagree with the print are consistency problems (possible tampering).
docs/verification.md has the rules in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.domain import dates, matching, mrz
from chalicelib.domain.matching import MATCH, MISMATCH, MISSING, NEAR_MISS, PARTIAL, TYPO
from chalicelib.domain.problems import Problems, field_words
from chalicelib.providers.port import IdField, IdReading

REQUIRED_FIELDS = ("FIRST_NAME", "LAST_NAME", "DATE_OF_BIRTH", "DOCUMENT_NUMBER")
NAME_FIELDS = ("FIRST_NAME", "MIDDLE_NAME", "LAST_NAME")
# A reading at this confidence (0-100) or above is clear; below it, shaky (BRIEF point 4).
CLEAR_CONFIDENCE = 85.0
# A field read from a machine-readable zone whose check digit holds is as clear as it gets.
CHECKED_CONFIDENCE = 100.0

# Outcomes the decision adds to matching's (match, near_miss, partial, mismatch, missing).
UNCLEAR = "unclear"  # differs, but read below CLEAR_CONFIDENCE
UNREADABLE = "unreadable"  # read, but no plausible value (a date like 0198-02-21)
NAME_ORDER = "name_order"  # the submitted name is on the document, in another name's place
ELSEWHERE = "elsewhere"  # KycClaim: printed on the document, not where the field goes
IN_DATE, EXPIRED = "in_date", "expired"
# Which reading of a field counts when there are several (pages, a zone): the most
# favourable one, so an unreadable or misread page never outweighs a readable one.
_RANK = {
    MATCH: 0,
    IN_DATE: 0,
    NEAR_MISS: 1,
    TYPO: 1,
    PARTIAL: 1,
    UNCLEAR: 1,
    NAME_ORDER: 1,
    ELSEWHERE: 1,
    MISMATCH: 2,
    EXPIRED: 2,
    UNREADABLE: 3,
    MISSING: 4,
}


# --- fields --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """One reading of a field: from a page of the document, or from a valid MRZ."""

    item: IdField
    source: str = "print"  # "print" | "mrz"


@dataclass
class _Result:
    outcome: str
    document: Any = None
    confidence: float | None = None
    source: str = "print"

    @property
    def passed(self) -> bool:
        return self.outcome in (MATCH, IN_DATE)

    def record(self, submitted: Any = None, with_submitted: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"submitted": submitted} if with_submitted else {}
        out.update({"document": self.document, "passed": self.passed, "outcome": self.outcome})
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 1)
        if self.source != "print":
            out["source"] = self.source
        return out


def _best(results: list[_Result]) -> _Result:
    return min(results, key=lambda r: (_RANK[r.outcome], -(r.confidence or 0.0)))


@dataclass
class _Zone:
    """A machine-readable zone (Textract's MRZ_CODE, or a self-hosted reader's) as read."""

    item: IdField
    zone: mrz.Mrz | None

    @property
    def readable(self) -> bool:
        return self.zone is not None

    @property
    def valid(self) -> bool:
        return self.zone is not None and self.zone.valid


class _Document:
    """The reading of one submission's document, with the rules that need `today`."""

    def __init__(self, reading: IdReading, convention: str, today: date, clear: float):
        self.reading, self.convention, self.today, self.clear = reading, convention, today, clear
        self.zones = [_Zone(item, mrz.read(item.value)) for item in reading.readings.get("MRZ_CODE", [])]
        self.issue = self._clear_issue_date()

    def printed(self, name: str) -> list[IdField]:
        return list(self.reading.readings.get(name, []))

    def candidates(self, name: str) -> list[_Candidate]:
        """Every reading of `name`: each page's, then each valid zone's."""
        out = [_Candidate(item) for item in self.printed(name)]
        for z in self.zones:
            if z.zone is None or not z.zone.valid:
                continue  # a zone failing its check digits is never trusted
            value = mrz.textract_fields(z.zone, self.today).get(name)
            if value is None:
                continue
            checked = mrz.CHECKED_FIELDS.get(name)
            confidence = CHECKED_CONFIDENCE if checked else z.item.confidence
            normalized = value if name in ("DATE_OF_BIRTH", "EXPIRATION_DATE") else None
            out.append(_Candidate(IdField(value, confidence, normalized, z.item.document), "mrz"))
        return out

    def middle_name(self, document: int) -> str | None:
        for item in self.printed("MIDDLE_NAME"):
            if item.document == document:
                return item.value
        return None

    def _clear_issue_date(self) -> date | None:
        for item in self.printed("DATE_OF_ISSUE"):
            if item.confidence >= self.clear:
                found = dates.field_date_readings(
                    item.value, item.normalized, convention=self.convention, kind="issue", today=self.today
                )
                if found:
                    return found[0]
        return None

    def dates(self, item: IdField, kind: str) -> list[date]:
        """Plausible readings of a date field. Beyond `dates.plausible_date`: a birth date
        must come before a clearly read issue date, an expiry date after it."""
        found = dates.field_date_readings(
            item.value, item.normalized, convention=self.convention, kind=kind, today=self.today
        )
        if self.issue is not None and kind == "birth":
            found = [d for d in found if d < self.issue]
        if self.issue is not None and kind == "expiry":
            found = [d for d in found if d > self.issue]
        return found


def _judge(name: str, candidate: _Candidate, submitted: dict[str, Any], doc: _Document) -> _Result:
    """One reading of a required field against the submission."""
    item = candidate.item
    document: Any = item.value
    if name == "FIRST_NAME":
        middle = doc.middle_name(item.document) if candidate.source == "print" else None
        result = matching.match_first_name(
            submitted.get("first_name"), submitted.get("middle_name"), item.value, middle
        )
    elif name == "LAST_NAME":
        result = matching.match_name(submitted.get("last_name"), item.value)
    elif name == "DATE_OF_BIRTH":
        readings = doc.dates(item, "birth")
        if not readings:
            return _Result(UNREADABLE, item.value, item.confidence, candidate.source)
        document = readings[0].isoformat()
        result = dates.match_date(submitted.get("date_of_birth"), readings)
    else:
        result = matching.match_id_number(submitted.get("id_value"), item.value)
    outcome = result.outcome
    if outcome == TYPO:
        # a character that no reading confusion explains: read clearly, it is another value
        outcome = MISMATCH if item.confidence >= doc.clear else NEAR_MISS
    if outcome == MISMATCH and item.confidence < doc.clear:
        outcome = UNCLEAR
    return _Result(outcome, document, item.confidence, candidate.source)


def _name_tokens_except(doc: _Document, name: str) -> list[str]:
    tokens: list[str] = []
    for other in NAME_FIELDS:
        if other != name:
            for item in doc.printed(other):
                tokens += matching.name_tokens(item.value)
    return tokens


def _name_order(results: dict[str, _Result], submitted: dict[str, Any], doc: _Document) -> None:
    """A first or last name that clearly differs from its field but is printed in another
    name field (first and last swapped, "Q. JOHN" for John Q.) asks for review."""
    for name, key in (("FIRST_NAME", "first_name"), ("LAST_NAME", "last_name")):
        result = results[name]
        if result.outcome == MISMATCH and matching.names_hold(
            matching.name_tokens(submitted.get(key)), _name_tokens_except(doc, name)
        ):
            result.outcome = NAME_ORDER


def _apply_claim(name: str, result: _Result, reading: IdReading) -> None:
    """KycClaim: `elsewhere` never verifies (a clear blind mismatch still rejects); `label`
    counts as read (the field then holds the value as printed); `absent` changes nothing."""
    if reading.claim.get(name) == "elsewhere" and result.outcome != MISMATCH:
        result.outcome = ELSEWHERE


def _field_result(name: str, submitted: dict[str, Any], doc: _Document) -> _Result:
    candidates = doc.candidates(name)
    if not candidates:
        return _Result(MISSING)
    return _best([_judge(name, c, submitted, doc) for c in candidates])


def _field_problem(name: str, outcome: str, problems: Problems) -> None:
    words = field_words(name)
    if outcome == MISMATCH:
        problems.reject(f"{words} differs from the document")
    elif outcome == NEAR_MISS and name == "DATE_OF_BIRTH":
        problems.review(f"{words} matches the document only with day and month read the other way")
    elif outcome == NEAR_MISS:
        problems.review(f"{words} is close to but not the same as the document's")
    elif outcome == PARTIAL:
        problems.review(f"{words} was read from the document only in part")
    elif outcome == UNCLEAR:
        problems.review(f"{words} differs from the document's reading, which is not clear enough to decide on")
    elif outcome == NAME_ORDER:
        problems.review(f"{words} appears on the document, but in another name's place")
    elif outcome == ELSEWHERE:
        problems.review(f"{words} is printed on the document, but not where the {words} goes")
    elif outcome in (MISSING, UNREADABLE):
        problems.review(f"{words} could not be read from the document")


def _expiry_result(doc: _Document) -> _Result:
    results = []
    for candidate in doc.candidates("EXPIRATION_DATE"):
        item = candidate.item
        readings = doc.dates(item, "expiry")
        if not readings:
            results.append(_Result(UNREADABLE, item.value, item.confidence, candidate.source))
            continue
        expiry = readings[0]
        if not dates.is_expired(expiry, doc.today):
            outcome = IN_DATE
        else:
            outcome = EXPIRED if item.confidence >= doc.clear else UNCLEAR
        results.append(_Result(outcome, expiry.isoformat(), item.confidence, candidate.source))
    return _best(results) if results else _Result(MISSING)


def _expiry_problem(result: _Result, problems: Problems) -> None:
    if result.outcome == EXPIRED:
        problems.reject(f"the document expired on {result.document}")
    elif result.outcome == UNCLEAR:
        problems.review("the document's expiry date reads as past, but not clearly enough to decide on")
    elif result.outcome in (MISSING, UNREADABLE):
        problems.review("the document's expiry date could not be read")


# --- consistency -----------------------------------------------------------------------------


def _agree(name: str, a: IdField, b: IdField, doc: _Document) -> bool:
    """Whether two readings of a field (two pages, or print and zone) say the same; a value
    the reader cut short (a zone's truncated name) agrees with the whole."""
    if name in ("DATE_OF_BIRTH", "EXPIRATION_DATE"):
        kind = "birth" if name == "DATE_OF_BIRTH" else "expiry"
        da, db = doc.dates(a, kind), doc.dates(b, kind)
        return not da or not db or bool(set(da[:1]) & set(db)) or bool(set(db[:1]) & set(da))
    if name == "DOCUMENT_NUMBER":
        x, y = matching.normalize_id_number(a.value), matching.normalize_id_number(b.value)
        return matching.match_id_number(a.value, b.value).outcome in (MATCH, NEAR_MISS) or (
            bool(x) and bool(y) and (x.startswith(y) or y.startswith(x))
        )
    if name == "FIRST_NAME":
        outcome = matching.match_first_name(a.value, None, b.value, None).outcome
        reverse = matching.match_first_name(b.value, None, a.value, None).outcome
    else:
        outcome = matching.match_name(a.value, b.value).outcome
        reverse = matching.match_name(b.value, a.value).outcome
    return outcome in (MATCH, NEAR_MISS, PARTIAL) or reverse in (MATCH, NEAR_MISS, PARTIAL)


CROSS_CHECKED = REQUIRED_FIELDS + ("EXPIRATION_DATE",)


def _pages_disagree(doc: _Document) -> list[str]:
    """Fields that two pages (IdentityDocuments) of the response read differently."""
    out = []
    for name in CROSS_CHECKED:
        items = doc.printed(name)
        if any(
            not _agree(name, a, b, doc) for i, a in enumerate(items) for b in items[i + 1 :] if a.document != b.document
        ):
            out.append(name)
    return out


def _zone_disagrees(doc: _Document) -> list[str]:
    """Fields that a valid zone holds and the print says otherwise."""
    out = []
    for z in doc.zones:
        if z.zone is None or not z.zone.valid:
            continue
        for name, value in mrz.textract_fields(z.zone, doc.today).items():
            printed = [
                item
                for item in doc.printed(name)
                if name not in ("DATE_OF_BIRTH", "EXPIRATION_DATE")
                or doc.dates(item, "birth" if name == "DATE_OF_BIRTH" else "expiry")
            ]
            zone_item = IdField(
                value, CHECKED_CONFIDENCE, value if name in ("DATE_OF_BIRTH", "EXPIRATION_DATE") else None
            )
            if printed and not any(_agree(name, item, zone_item, doc) for item in printed):
                out.append(name)
    return out


def _consistency_check(doc: _Document, problems: Problems) -> dict[str, Any] | None:
    reading = doc.reading
    mismatched: list[str] = []
    for name in list(reading.mismatched_fields) + _zone_disagrees(doc):
        if name not in mismatched:
            mismatched.append(name)
    checks_failed = reading.mrz_checks_failed or any(z.readable and not z.valid for z in doc.zones)
    unreadable_zone = any(not z.readable for z in doc.zones)
    pages = _pages_disagree(doc)
    if not (mismatched or checks_failed or unreadable_zone or pages):
        return None
    check: dict[str, Any] = {"passed": False, "mismatched_fields": mismatched}
    if mismatched:
        words = ", ".join(field_words(name) for name in mismatched)
        problems.review(f"the document's machine-readable data disagrees with its printed {words}; possible tampering")
    if checks_failed:
        check["mrz_checks_failed"] = True
        problems.review("the document's machine-readable zone fails its check digits; possible tampering")
    if unreadable_zone:
        check["mrz_unreadable"] = True
        problems.review("the document's machine-readable zone could not be read")
    if pages:
        check["pages_disagree"] = pages
        words = ", ".join(field_words(name) for name in pages)
        problems.review(f"the document's pages disagree on the {words}")
    return check


def details_check(
    submitted: dict[str, Any], reading: IdReading, convention: str, today: date, clear: float, problems: Problems
) -> dict[str, Any]:
    doc = _Document(reading, convention, today, clear)
    results = {name: _field_result(name, submitted, doc) for name in REQUIRED_FIELDS}
    _name_order(results, submitted, doc)
    submitted_values = {
        "FIRST_NAME": submitted.get("first_name"),
        "LAST_NAME": submitted.get("last_name"),
        "DATE_OF_BIRTH": submitted.get("date_of_birth"),
        "DOCUMENT_NUMBER": submitted.get("id_value"),
    }
    fields: dict[str, Any] = {}
    for name, result in results.items():
        _apply_claim(name, result, reading)
        _field_problem(name, result.outcome, problems)
        fields[name] = result.record(submitted_values[name])
    expiry = _expiry_result(doc)
    _expiry_problem(expiry, problems)
    fields["EXPIRATION_DATE"] = expiry.record(with_submitted=False)
    consistency = _consistency_check(doc, problems)
    check: dict[str, Any] = {
        "passed": all(f["passed"] for f in fields.values()) and consistency is None,
        "fields": fields,
    }
    if consistency is not None:
        check["consistency"] = consistency
    return check
