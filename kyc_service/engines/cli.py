"""`compare-faces` and `analyze-id` commands (see CONTRACT section 4).

Nothing heavy is imported at module level; the engines load inside the commands.
"""

from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("compare-faces", help="compare a selfie with an ID portrait")
    p.add_argument("source", nargs="?", help="selfie image")
    p.add_argument("target", nargs="?", help="ID document front / portrait image")
    p.add_argument("--pairs", metavar="PAIRS.csv", help="CSV of 'source,target' lines; one JSON result per line")
    p.set_defaults(func=compare_faces_command)

    a = subparsers.add_parser("analyze-id", help="read the fields of an ID document")
    a.add_argument("images", nargs="+", metavar="IMAGE", help="front image, optionally followed by the back image")
    a.set_defaults(func=analyze_id_command)


def verify_threshold() -> float:
    """The stage's face threshold (KYC_VERIFY_THRESHOLD), as the verifier applies it."""
    from chalicelib.config import settings

    return settings().verify_threshold


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _result(comparison, threshold: float) -> dict:
    sim = comparison.similarity
    return {
        "similarity": sim if sim is not None else 0.0,
        "match": sim is not None and sim >= threshold,
        "source_face_count": comparison.source_face_count,
        "target_face_count": comparison.target_face_count,
    }


def _pairs(path: str):
    import csv

    with open(path, newline="") as fh:
        for row in csv.reader(fh):
            cells = [c.strip() for c in row]
            if len(cells) < 2 or not cells[0] or cells[0].startswith("#"):
                continue
            if cells[0].lower() == "source" and cells[1].lower() == "target":
                continue  # header line
            yield cells[0], cells[1]


def compare_faces_command(args) -> int:
    from chalicelib.providers.port import UnusableInput

    from .faces import FaceEngine

    threshold = verify_threshold()
    if args.pairs:
        if args.source or args.target:
            print("compare-faces: give either SOURCE TARGET or --pairs", file=sys.stderr)
            return 2
        engine = FaceEngine.shared()
        status = 0
        for source, target in _pairs(args.pairs):
            try:
                out = _result(engine.compare(_read(source), _read(target)), threshold)
            except (OSError, UnusableInput) as exc:
                out = {"error": getattr(exc, "reason", None) or type(exc).__name__}
                status = 1
            print(json.dumps({"source": source, "target": target, **out}), flush=True)
        return status
    if not (args.source and args.target):
        print("compare-faces: SOURCE and TARGET are required (or --pairs)", file=sys.stderr)
        return 2
    try:
        comparison = FaceEngine.shared().compare(_read(args.source), _read(args.target))
    except OSError as exc:
        print(f"compare-faces: cannot read input: {exc.strerror}", file=sys.stderr)
        return 1
    except UnusableInput as exc:
        print(f"compare-faces: unusable image: {exc.reason}", file=sys.stderr)
        return 1
    print(json.dumps(_result(comparison, threshold)))
    return 0


def flatten(response: dict) -> dict:
    """AnalyzeID-shaped response -> {"FIELD": {"value", "confidence"}}, dates YYYY-MM-DD."""
    out = {}
    docs = response.get("IdentityDocuments") or []
    for item in docs[0].get("IdentityDocumentFields", []) if docs else []:
        name = item["Type"]["Text"]
        det = item.get("ValueDetection") or {}
        value = det.get("Text", "")
        norm = (det.get("NormalizedValue") or {}).get("Value")
        if norm:
            value = norm.split("T", 1)[0]
        if value:
            out[name] = {"value": value, "confidence": round(float(det.get("Confidence", 0.0)), 2)}
    return out


def analyze_id_command(args) -> int:
    from chalicelib.providers.port import UnusableInput

    from .analyze import analyze

    if len(args.images) > 2:
        print("analyze-id: give a front image and at most one back image", file=sys.stderr)
        return 2
    try:
        blobs = [_read(p) for p in args.images]
        response = analyze(blobs[0], blobs[1] if len(blobs) > 1 else None)
    except OSError as exc:
        print(f"analyze-id: cannot read input: {exc.strerror}", file=sys.stderr)
        return 1
    except UnusableInput as exc:
        print(f"analyze-id: unusable image: {exc.reason}", file=sys.stderr)
        return 1
    print(json.dumps(flatten(response)))
    return 0
