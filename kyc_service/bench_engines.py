"""Benchmarks of the self-hosted engines: `run() -> [(name, value, unit)]`.

face_pair_s      mean wall seconds per compare() of two photographs (models warm)
id_read_s        mean wall seconds per analyze() of a licence front (models warm)
*_cpu_s          the same in process CPU seconds (all threads): less sensitive to other
                 load on a shared machine; onnxruntime uses both cores, so CPU >= wall when idle
peak_rss_mb      peak resident memory of this process after the runs
field_acc_clean  % of fields read exactly from clean generated licence fronts (OCR only)
field_acc_degraded  same on degraded (rotated, blurred, noisy, JPEG) fronts
field_acc_photographed  degraded fronts also rotated up to 5 degrees on a noisy background

`python -m kyc_service.bench_engines` prints `BENCH <name> <value> <unit>` lines.
"""
from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compare_fields(expected: dict[str, str], read: dict[str, dict]) -> tuple[int, list[str]]:
    """(number of fields read exactly, names of the wrong or missing ones)."""
    wrong = [name for name, value in expected.items()
             if (read.get(name) or {}).get("value", "").upper() != value.upper()]
    return len(expected) - len(wrong), wrong


def field_accuracy(count: int, degrade: bool, seed0: int = 1000,
                   photographed: bool = False) -> tuple[float, dict]:
    """Percent of expected fields read exactly from `count` generated licence fronts.

    `photographed`: each front is also placed, rotated and scaled, on a noisy background.
    """
    from kyc_service import docgen, samples
    from kyc_service.engines.analyze import analyze
    from kyc_service.engines.cli import flatten

    portrait = samples.portrait_image()
    good = total = 0
    misses: dict[str, int] = {}
    for i in range(count):
        details = docgen.random_details(seed0 + i)
        front, _ = docgen.make_licence(details, portrait, layout=i, degrade=degrade, seed=seed0 + i)
        if photographed:
            front = docgen.photograph(front, seed0 + i)
        expected = docgen.expected_licence_fields(details)
        ok, wrong = compare_fields(expected, flatten(analyze(front)))
        good += ok
        total += len(expected)
        for name in wrong:
            misses[name] = misses.get(name, 0) + 1
    return 100.0 * good / max(total, 1), misses


def _faces_dir() -> Path:
    return Path(os.environ.get("KYC_FIXTURES_DIR") or ROOT.parent / "shared" / "fixtures") / "faces"


def _timed(fn, rounds: int) -> tuple[float, float]:
    """(mean wall seconds, mean process CPU seconds) of `fn()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - wall) / rounds, (time.process_time() - cpu) / rounds


def face_pair_seconds(rounds: int = 5) -> tuple[float, float]:
    from kyc_service import samples
    from kyc_service.engines.faces import FaceEngine

    engine = FaceEngine.shared()
    d = _faces_dir()
    if d.is_dir():
        a, b = (d / "obama_1.jpg").read_bytes(), (d / "obama_2.jpg").read_bytes()
    else:
        a, b = samples.genuine_pair()
    engine.compare(a, b)  # warm-up (model load)
    return _timed(lambda: engine.compare(a, b), rounds)


def id_read_seconds(rounds: int = 3) -> tuple[float, float]:
    from kyc_service import docgen, samples
    from kyc_service.engines.analyze import analyze

    front, _ = docgen.make_licence(docgen.random_details(7), samples.portrait_image(), layout=0)
    analyze(front)  # warm-up
    return _timed(lambda: analyze(front), rounds)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(samples_per_set: int = 12) -> list[tuple[str, float, str]]:
    face_wall, face_cpu = face_pair_seconds()
    id_wall, id_cpu = id_read_seconds()
    results = [("face_pair_s", round(face_wall, 3), "s"), ("face_pair_cpu_s", round(face_cpu, 3), "s"),
               ("id_read_s", round(id_wall, 3), "s"), ("id_read_cpu_s", round(id_cpu, 3), "s")]
    clean, _ = field_accuracy(samples_per_set, degrade=False)
    degraded, _ = field_accuracy(samples_per_set, degrade=True)
    photo, _ = field_accuracy(samples_per_set, degrade=True, photographed=True, seed0=3000)
    results += [("field_acc_clean", round(clean, 2), "%"),
                ("field_acc_degraded", round(degraded, 2), "%"),
                ("field_acc_photographed", round(photo, 2), "%"),
                ("peak_rss_mb", round(peak_rss_mb(), 1), "MB")]
    return results


def main() -> int:
    for name, value, unit in run():
        print(f"BENCH {name} {value} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
