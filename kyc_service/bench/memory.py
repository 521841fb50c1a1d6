"""Peak memory of one self-hosted verification on hostile images: `run() -> [(name, value, unit)]`.

Each case runs in a fresh process: the engines are loaded and warmed on a real selfie and a real
ID card, then one verification (the face comparison and the ID reading, as the verifier makes
them) is given the case's image as both the selfie and the ID front. The figure is how far the
process's peak resident memory rose above its warm peak (`ru_maxrss`): what one hostile
submission costs the worker on top of the models.

mem_normal_extra_mb        a real photograph and a real card (the reference)
mem_jpeg_49mp_extra_mb     an 8-bit JPEG of 7000 x 7000 pixels (under the pixel cap: decoded)
mem_png16_7700_extra_mb    a 16-bit grey PNG of 7700 x 7700 (118 MB decoded: refused from its header)
mem_png_rgba16_extra_mb    a 16-bit RGBA PNG of 5000 x 5000 (200 MB decoded: refused from its header)
mem_png_tall_extra_mb      a 1 x 49,000,000 grey PNG (under the pixel cap, absurd shape)
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from chalicelib.stage import ROOT
from kyc_service.bench.engines import fixtures_dir as _fixtures

CASES = ("normal", "jpeg_49mp", "png16_7700", "png_rgba16", "png_tall")


def _make(case: str) -> bytes:
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    if case == "normal":
        return (_fixtures() / "faces" / "obama_2.jpg").read_bytes()
    if case == "jpeg_49mp":
        ramp = np.tile(np.arange(7000, dtype=np.uint16) % 256, (7000, 1)).astype(np.uint8)
        Image.fromarray(ramp).convert("RGB").save(buf, "JPEG", quality=60)
    elif case == "png16_7700":
        Image.fromarray(np.zeros((7700, 7700), dtype=np.uint16)).save(buf, "PNG")
    elif case == "png_rgba16":  # Pillow writes no 16-bit RGBA: the header says so, the data is 8-bit
        Image.new("RGBA", (5000, 5000)).save(buf, "PNG")
        data = bytearray(buf.getvalue())
        data[24] = 16  # IHDR bit depth (the header is all the caps read)
        return bytes(data)
    elif case == "png_tall":
        Image.new("L", (1, 49_000_000)).save(buf, "PNG")
    return buf.getvalue()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_case(path: Path) -> dict:
    """In this process: warm the engines on real material, then one verification of `path`."""
    from chalicelib.providers.port import UnusableInput
    from kyc_service.engines.analyze import analyze
    from kyc_service.engines.faces import FaceEngine

    faces = _fixtures() / "faces"
    card = sorted((_fixtures() / "ids" / "us-licences").glob("*.png"))[0].read_bytes()
    engine = FaceEngine.shared()
    engine.compare((faces / "obama_1.jpg").read_bytes(), (faces / "obama_2.jpg").read_bytes())
    analyze(card)
    warm = _peak_mb()
    data = path.read_bytes()
    outcome = "read"
    try:
        engine.compare(data, data)
        analyze(data)
    except UnusableInput as exc:
        outcome = f"refused: {exc}"
    return {"warm_mb": warm, "extra_mb": round(_peak_mb() - warm, 1), "outcome": outcome}


def run() -> list[tuple[str, float, str]]:
    if not (_fixtures() / "faces").is_dir():
        raise RuntimeError("../shared/fixtures is absent: the memory section warms on real material")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            path = Path(tmp) / case
            path.write_bytes(_make(case))
            out = subprocess.run(
                [sys.executable, "-m", "kyc_service.bench.memory", str(path)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            results.append((f"mem_{case}_extra_mb", figures["extra_mb"], "MB"))
            print(f"# {case}: {figures['outcome']} (warm peak {figures['warm_mb']:.0f} MB)", file=sys.stderr)
    return results


if __name__ == "__main__":
    if len(sys.argv) == 2:
        print(json.dumps(measure_case(Path(sys.argv[1]))))
    else:
        for name, value, unit in run():
            print(f"BENCH {name} {value} {unit}")
