"""Benchmarks of the self-hosted engines: `run() -> [(name, value, unit)]`.

Accuracy is measured on real documents: the specimen cards in `../shared/fixtures/ids`
(us-licences and other, labels read by eye), scored as `ids/README.md` says: FIRST_NAME,
LAST_NAME, DATE_OF_BIRTH, DOCUMENT_NUMBER, EXPIRATION_DATE; a field is right when it equals the
label after upper-casing, removing accents, keeping only letters (names) or letters and digits
(document number); `accept_alternatives` are accepted, a null among them means "not scored".

real_core_acc        % of the five core fields right, blind reader (no claim), all fixture cards
real_<field>_acc     the same per field
textract_core_acc    Amazon Textract's recorded AnalyzeID reading of the same cards, same rule
                     (../shared/fixtures/aws/analyze-id: the 24 state licences and the fake-id);
                     textract_<field>_acc per field
real_loso_core_acc   leave-one-state-out: each card read with its own state's specific knowledge
                     (its published number format) removed, so that what generalises shows
real_photo_core_acc  the same cards photographed in software (`photos.photograph`: every quarter
                     turn, up to 6 degrees of skew, perspective up to 6 %, blur, a background)
real_bogus_mrz       cards on which a machine-readable zone was reported (must be 0)
id_read_cpu_s / id_read_cpu_max_s   process CPU seconds per analyze() of a fixture card
                     (onnxruntime's threads counted), mean and maximum, models warm
id_read_s            mean wall seconds per analyze() of a fixture card
photo_read_cpu_s     mean process CPU seconds per photographed card
face_pair_s, face_pair_cpu_s   one compare() of two photographs (models warm)
peak_rss_mb          peak resident memory of this process after the runs
gen_field_acc_*      generated licences (clean / degraded): what real cards cannot give, never
                     the accuracy figure

`python -m kyc_service.bench.engines` prints `BENCH <name> <value> <unit>` lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import statistics
import sys
import time
import unicodedata
from pathlib import Path

from chalicelib.stage import ROOT

CORE = ("FIRST_NAME", "LAST_NAME", "DATE_OF_BIRTH", "DOCUMENT_NUMBER", "EXPIRATION_DATE")
# fixture file stem -> issuing state (the leave-one-state-out figure removes that state's formats)
STATES = {
    "alabama": "AL",
    "arizona": "AZ",
    "california": "CA",
    "columbia": "DC",
    "florida": "FL",
    "hawaii": "HI",
    "illinois": "IL",
    "iowa": "IA",
    "kentucky": "KY",
    "maine": "ME",
    "massachusetts": "MA",
    "minnesota": "MN",
    "missouri": "MO",
    "nebraska": "NE",
    "newhampshire": "NH",
    "northcarolina": "NC",
    "ohio": "OH",
    "oregon": "OR",
    "rhodeisland": "RI",
    "southdakota": "SD",
    "texas": "TX",
    "vermont": "VT",
    "washington": "WA",
    "wisconsin": "WI",
    "textractor-driverlicense": "MA",
    "textractor-fake-id": "MA",
}


def fixtures_dir() -> Path:
    return Path(os.environ.get("KYC_FIXTURES_DIR") or ROOT.parent / "shared" / "fixtures")


def fixture_cards() -> list[tuple[str, Path, dict]]:
    """[(name, image path, labels)] of the real cards with labels (empty when absent)."""
    out = []
    for sub in ("us-licences", "other"):
        folder = fixtures_dir() / "ids" / sub
        labels_file = folder / "labels.json"
        if not labels_file.is_file():
            continue
        for key, label in json.loads(labels_file.read_text()).items():
            name = key if key.endswith(".png") else key + ".png"
            if (folder / name).is_file():
                out.append((name, folder / name, label))
    return out


def normalise(field: str, value) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode().upper()
    if field in ("FIRST_NAME", "LAST_NAME"):
        return re.sub(r"[^A-Z]", "", text)
    if field == "DOCUMENT_NUMBER":
        return re.sub(r"[^A-Z0-9]", "", text)
    return text[:10]


def right(field: str, label: dict, value) -> bool | None:
    """Whether `value` is right for `field` of a labelled card; None: not scored."""
    alternatives = (label.get("accept_alternatives") or {}).get(field)
    if alternatives and None in alternatives:
        return None
    wanted = [label.get(field)] + list(alternatives or [])
    wanted = [normalise(field, w) for w in wanted if w is not None]
    if not wanted:
        return None
    return normalise(field, value) in wanted


def values(response: dict) -> dict[str, str]:
    """Field -> value of an AnalyzeID-shaped response (dates YYYY-MM-DD)."""
    out = {}
    for doc in (response.get("IdentityDocuments") or [])[:1]:
        for item in doc.get("IdentityDocumentFields", []):
            det = item.get("ValueDetection") or {}
            value = det.get("Text")
            norm = (det.get("NormalizedValue") or {}).get("Value")
            if norm:
                value = norm[:10]
            if value:
                out.setdefault(item["Type"]["Text"], value)
    return out


class Score:
    def __init__(self):
        self.right = dict.fromkeys(CORE, 0)
        self.total = dict.fromkeys(CORE, 0)
        self.misses: list[str] = []

    def add(self, name: str, label: dict, read: dict[str, str]) -> None:
        for field in CORE:
            ok = right(field, label, read.get(field))
            if ok is None:
                continue
            self.total[field] += 1
            self.right[field] += bool(ok)
            if not ok:
                self.misses.append(f"{name}:{field}")

    def pct(self, field: str | None = None) -> float:
        fields = [field] if field else CORE
        total = sum(self.total[f] for f in fields)
        return round(100.0 * sum(self.right[f] for f in fields) / total, 2) if total else 0.0


@contextlib.contextmanager
def _pages_cached():
    """Within the benchmark only: one OCR per image, so that the leave-one-state-out pass
    re-reads cards without repeating the (format-independent) recognition."""
    import hashlib

    from kyc_service.engines import ocr

    real = ocr.read_page
    cache = {}

    def cached(rgb, orient=True):
        key = (hashlib.blake2b(rgb.tobytes(), digest_size=16).hexdigest(), rgb.size, orient)
        if key not in cache:
            cache[key] = real(rgb, orient)
        return cache[key]

    ocr.read_page = cached
    try:
        yield
    finally:
        ocr.read_page = real


def real_documents(photographed: bool = True) -> list[tuple[str, float, str]]:
    """Accuracy, leave-one-state-out, photographed, Textract and CPU on the fixture cards."""
    from kyc_service.engines import dlformats
    from kyc_service.engines.analyze import analyze
    from kyc_service.testdata import photos

    cards = fixture_cards()
    if not cards:
        return []
    analyze(cards[0][1].read_bytes())  # warm-up (model load)
    blind, loso, photo, textract = Score(), Score(), Score(), Score()
    cpu, wall, photo_cpu, bogus = [], [], [], 0
    with _pages_cached():
        for i, (name, path, label) in enumerate(cards):
            data = path.read_bytes()
            started_cpu, started = time.process_time(), time.perf_counter()
            response = analyze(data)
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started)
            blind.add(name, label, values(response))
            consistency = response.get("KycConsistency") or {}
            if consistency.get("sources", {}).get("machine_readable") in ("mrz", "mrz_invalid") or "MRZ_CODE" in values(
                response
            ):
                bogus += 1
            with dlformats.excluding(STATES.get(Path(name).stem, "")):
                loso.add(name, label, values(analyze(data)))
            if photographed:
                jpg = photos.photograph(data, **photos.photograph_settings(i))
                started_cpu = time.process_time()
                response = analyze(jpg)
                photo_cpu.append(time.process_time() - started_cpu)
                photo.add(name, label, values(response))
            recorded = fixtures_dir() / "aws" / "analyze-id" / path.parent.name / (Path(name).stem + ".json")
            if not recorded.is_file():
                recorded = fixtures_dir() / "aws" / "analyze-id" / (Path(name).stem + ".json")
            if recorded.is_file():
                textract.add(name, label, values(json.loads(recorded.read_text())))
    results = [("real_core_acc", blind.pct(), "%")]
    results += [(f"real_{f.lower()}_acc", blind.pct(f), "%") for f in CORE]
    results += [("textract_core_acc", textract.pct(), f"% ({sum(textract.total.values())} fields)")]
    results += [(f"textract_{f.lower()}_acc", textract.pct(f), "%") for f in CORE]
    results += [("real_loso_core_acc", loso.pct(), "%")]
    if photographed:
        results.append(("real_photo_core_acc", photo.pct(), "%"))
    results += [
        ("real_bogus_mrz", bogus, f"of {len(cards)} cards"),
        ("real_cards", len(cards), "cards"),
        ("id_read_cpu_s", round(statistics.mean(cpu), 3), "s"),
        ("id_read_cpu_max_s", round(max(cpu), 3), "s"),
        ("id_read_s", round(statistics.mean(wall), 3), "s"),
    ]
    if photo_cpu:
        results.append(("photo_read_cpu_s", round(statistics.mean(photo_cpu), 3), "s"))
    real_documents.misses = {
        "blind": blind.misses,
        "loso": loso.misses,
        "photo": photo.misses,
        "textract": textract.misses,
    }
    return results


def compare_fields(expected: dict[str, str], read: dict[str, dict]) -> tuple[int, list[str]]:
    """(number of fields read exactly, names of the wrong or missing ones)."""
    wrong = [
        name for name, value in expected.items() if (read.get(name) or {}).get("value", "").upper() != value.upper()
    ]
    return len(expected) - len(wrong), wrong


def generated_accuracy(count: int, degrade: bool, seed0: int = 1000) -> float:
    """Percent of expected fields read exactly from `count` generated licence fronts."""
    from kyc_service.engines.analyze import analyze
    from kyc_service.engines.cli import flatten
    from kyc_service.testdata import docgen, samples

    portrait = samples.portrait_image()
    good = total = 0
    for i in range(count):
        details = docgen.random_details(seed0 + i)
        front, _ = docgen.make_licence(details, portrait, layout=i, degrade=degrade, seed=seed0 + i)
        expected = docgen.expected_licence_fields(details)
        ok, _ = compare_fields(expected, flatten(analyze(front)))
        good += ok
        total += len(expected)
    return round(100.0 * good / max(total, 1), 2)


def _faces_dir() -> Path:
    return fixtures_dir() / "faces"


def _timed(fn, rounds: int) -> tuple[float, float]:
    """(mean wall seconds, mean process CPU seconds) of `fn()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - wall) / rounds, (time.process_time() - cpu) / rounds


def face_pair_seconds(rounds: int = 5) -> tuple[float, float]:
    from kyc_service.engines.faces import FaceEngine
    from kyc_service.testdata import samples

    engine = FaceEngine.shared()
    d = _faces_dir()
    if d.is_dir():
        a, b = (d / "obama_1.jpg").read_bytes(), (d / "obama_2.jpg").read_bytes()
    else:
        a, b = samples.genuine_pair()
    engine.compare(a, b)  # warm-up (model load)
    return _timed(lambda: engine.compare(a, b), rounds)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(samples_per_set: int = 8) -> list[tuple[str, float, str]]:
    face_wall, face_cpu = face_pair_seconds()
    results = [("face_pair_s", round(face_wall, 3), "s"), ("face_pair_cpu_s", round(face_cpu, 3), "s")]
    results += real_documents()
    results += [
        ("gen_field_acc_clean", generated_accuracy(samples_per_set, degrade=False), "%"),
        ("gen_field_acc_degraded", generated_accuracy(samples_per_set, degrade=True), "%"),
        ("peak_rss_mb", round(peak_rss_mb(), 1), "MB"),
    ]
    return results


def main() -> int:
    for name, value, unit in run():
        print(f"BENCH {name} {value} {unit}")
    misses = getattr(real_documents, "misses", None)
    if misses:
        for kind, items in misses.items():
            print(f"# {kind} misses: {', '.join(items) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
