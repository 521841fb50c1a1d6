"""Synthetic licences (and the drawing helpers of every generated document) for tests, the demo
and benchmarks.

- `make_licence(details, portrait, layout, degrade, seed)` -> (front_png, back_png): a US
  driving licence front with numbered AAMVA fields (4d DLN, 1 family name, 2 given names,
  8 address, 3 DOB, 4a issue, 4b expiry, 5 DD, 15 sex, 16 height, 9 class, 9a end, 12 restr)
  in one of several layouts (positions, fonts, colours; red DLN/DOB on some "states"), and a
  back with a real PDF417 AAMVA barcode (pdf417gen).
- Passports, passport cards and ICAO zones: kyc_service/testdata/passports.py.
- Degraded copies and photographs of a document: kyc_service/testdata/photos.py.
- `random_details(seed)` gives plausible, fake personal data.

Fonts: DejaVu (Debian fonts-dejavu-core) when present, else Pillow's scalable built-in font.
Every document is marked SPECIMEN; they are not usable as real documents.
"""

from __future__ import annotations

import io
import os
import random
import re
from datetime import date

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")

FIRST = "ASHISH MARIA JOHN LINDA CARLOS EMILY DAVID GRACE OMAR SOFIA PETER NADIA KEVIN HELEN RAVI CLARA".split()
MIDDLE = ["", "R", "LEE", "ANN", "JAMES", "MARIE", "J", "PAUL"]
LAST = (
    "PALANKAR GARCIA JOHNSON NGUYEN SMITH OKAFOR MULLER KOWALSKI ROBERTSON TANAKA BROWN HERNANDEZ WILSON PATEL"
    " LOPEZ ANDERSON"
).split()
STREETS = "MAIN ST|OAK AVE|PINE RD|MAPLE DR|ELM ST|CEDAR LN|LAKE BLVD|HILL CT|RIVER RD|SUNSET AVE".split("|")
PLACES = [
    ("TALLAHASSEE", "FL", "32301", "636010", "FLORIDA"),
    ("AUSTIN", "TX", "78701", "636015", "TEXAS"),
    ("SACRAMENTO", "CA", "95814", "636014", "CALIFORNIA"),
    ("ALBANY", "NY", "12207", "636001", "NEW YORK"),
    ("DENVER", "CO", "80202", "636020", "COLORADO"),
    ("SEATTLE", "WA", "98101", "636045", "WASHINGTON"),
]
IIN_BY_STATE = {p[1]: p[3] for p in PLACES}
STATE_NAMES = {p[1]: p[4] for p in PLACES}

# One entry per layout ("state style"): background, accent, text colours, font family,
# portrait side, which fields print in red, and row spacing.
LAYOUTS = tuple(
    {
        "bg": bg,
        "band": band,
        "ink": ink,
        "font": family,
        "bold": f"{family}-Bold",
        "portrait": side,
        "red": red,
        "gap": gap,
    }
    for bg, band, ink, family, side, red, gap in (
        ((236, 242, 250), (30, 70, 140), (20, 20, 30), "DejaVuSans", "left", ("4d",), 44),
        ((250, 244, 226), (150, 40, 40), (35, 25, 20), "DejaVuSerif", "left", ("3",), 46),
        ((232, 246, 236), (20, 110, 60), (10, 40, 20), "DejaVuSansCondensed", "right", ("4d", "3"), 44),
        ((244, 238, 250), (90, 50, 130), (30, 20, 45), "DejaVuSansMono", "right", (), 45),
    )
)
RED = (200, 20, 20)


# ---------------------------------------------------------------- details


def random_details(seed: int = 0) -> dict:
    """Fake but well-formed licence holder data (dates as YYYY-MM-DD)."""
    rnd = random.Random(seed)
    city, state, zip5, _, _ = rnd.choice(PLACES)
    dob = date(rnd.randint(1950, 2004), rnd.randint(1, 12), rnd.randint(1, 28))
    issue = date(rnd.randint(2018, 2024), rnd.randint(1, 12), rnd.randint(1, 28))
    expiry = date(issue.year + 8, dob.month, dob.day)
    letter = rnd.choice("ABCDGHKMPRSTW")
    groups = (
        rnd.randint(100, 999),
        rnd.randint(100, 999),
        rnd.randint(10, 99),
        rnd.randint(100, 999),
        rnd.randint(0, 9),
    )
    dln = letter + "-".join(str(g) for g in groups)
    return {
        "first_name": rnd.choice(FIRST),
        "middle_name": rnd.choice(MIDDLE),
        "last_name": rnd.choice(LAST),
        "date_of_birth": dob.isoformat(),
        "date_of_issue": issue.isoformat(),
        "expiration_date": expiry.isoformat(),
        "document_number": dln,
        "address": f"{rnd.randint(10, 9999)} {rnd.choice(STREETS)}",
        "city": city,
        "state": state,
        "zip_code": zip5 + (f"-{rnd.randint(1000, 9999)}" if rnd.random() < 0.5 else ""),
        "sex": rnd.choice("MF"),
        "height": f"{rnd.randint(5, 6)}-{rnd.randint(0, 11):02d}",
        "eyes": rnd.choice(["BRO", "BLU", "GRN", "HAZ"]),
        "class": rnd.choice(["C", "D", "E"]),
        "restrictions": rnd.choice(["NONE", "A", "B"]),
        "endorsements": "NONE",
        "dd": "".join(rnd.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(12)),
    }


def passport_details(seed: int = 0) -> dict:
    rnd = random.Random(seed + 7919)
    d = random_details(seed)
    d["passport_number"] = "".join(rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2)) + "".join(
        rnd.choice("0123456789") for _ in range(7)
    )
    d["place_of_birth"] = d["city"]
    return d


ALIASES = {"id_value": "document_number", "zip": "zip_code", "dob": "date_of_birth"}


def complete_details(details: dict | None, seed: int = 0, passport: bool = False) -> dict:
    """`details` with every missing key filled from `random_details(seed)`.

    Accepts the create_or_update body's names (first_name, last_name, middle_name,
    date_of_birth, id_value, address, city, state, zip_code); values are upper-cased as
    printed on cards. For passports `passport_number` defaults to `document_number`.
    """
    base = passport_details(seed) if passport else random_details(seed)
    given = {ALIASES.get(k, k): v for k, v in (details or {}).items() if v is not None}
    out = {**base, **{k: (v.upper() if isinstance(v, str) and "date" not in k else v) for k, v in given.items()}}
    if passport and "passport_number" not in given and "document_number" in given:
        out["passport_number"] = re.sub(r"[^A-Z0-9]", "", out["document_number"])[:9]
    if "city" in given and "state" not in given:
        out["state"] = base["state"]
    return out


def _us_date(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{m}/{d}/{y}"


# ---------------------------------------------------------------- drawing helpers


def font(name: str, size: int):
    from PIL import ImageFont

    for folder in FONT_DIRS:
        path = os.path.join(folder, name + ".ttf")
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def portrait_image(portrait, size):
    from PIL import Image, ImageOps

    if portrait is None:
        img = Image.new("RGB", size, (200, 200, 200))
    elif isinstance(portrait, (bytes, bytearray)):
        img = Image.open(io.BytesIO(portrait)).convert("RGB")
    else:
        img = portrait.convert("RGB")
    return ImageOps.fit(img, size, Image.LANCZOS)


def to_png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def degrade_image(img, seed: int = 0, strength: float = 1.0):
    """Photograph-like damage: small rotation, blur, noise, JPEG re-compression."""
    import numpy as np
    from PIL import Image, ImageFilter

    rnd = random.Random(seed)
    angle = rnd.uniform(-2.0, 2.0) * strength
    img = img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    img = img.filter(ImageFilter.GaussianBlur(radius=0.5 + 0.5 * strength * rnd.random()))
    arr = np.asarray(img).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, 6.0 * strength, arr.shape)
    img = Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(70 - 15 * strength * rnd.random()))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


# ---------------------------------------------------------------- licence

W, H = 1012, 638  # CR80 card at ~300 dpi


def licence_front(details: dict, portrait=None, layout: int = 0):
    """Draw the licence front as a PIL image."""
    from PIL import Image, ImageDraw

    style = LAYOUTS[layout % len(LAYOUTS)]
    img = Image.new("RGB", (W, H), style["bg"])
    draw = ImageDraw.Draw(img)
    state = details["state"]
    draw.rectangle((0, 0, W, 92), fill=style["band"])
    draw.text((28, 14), STATE_NAMES.get(state, state), font=font(style["bold"], 40), fill="white")
    draw.text((W - 330, 24), "DRIVER LICENSE", font=font(style["bold"], 30), fill="white")
    draw.text((W - 200, H - 44), "SPECIMEN", font=font(style["font"], 22), fill=(160, 160, 170))

    pw, ph = 280, 350
    if style["portrait"] == "left":
        px, tx = 30, 340
    else:
        px, tx = W - pw - 30, 36
    img.paste(portrait_image(portrait, (pw, ph)), (px, 120))

    label = font(style["font"], 22)
    value = font(style["bold"], 30)
    ink = style["ink"]
    gap = style["gap"]
    y = 112

    def row(num: str, text: str, x=tx, big=True):
        colour = RED if num in style["red"] else ink
        draw.text((x, y), f"{num} {text}", font=value if big else label, fill=colour)

    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    row("4d", "DLN " + details["document_number"])
    y += gap
    row("1", details["last_name"])
    y += gap - 4
    row("2", given)
    y += gap - 4
    row("8", details["address"])
    y += gap - 8
    draw.text((tx + 28, y), f"{details['city']}, {state} {details['zip_code']}", font=value, fill=ink)
    y += gap + 4
    row("3", "DOB " + _us_date(details["date_of_birth"]))
    draw.text((tx + 330, y + 4), f"15 SEX {details['sex']}", font=label, fill=ink)
    y += gap
    row("4a", "ISS " + _us_date(details["date_of_issue"]))
    draw.text((tx + 330, y + 4), f"16 HGT {details['height']}", font=label, fill=ink)
    y += gap
    row("4b", "EXP " + _us_date(details["expiration_date"]))
    draw.text((tx + 330, y + 4), f"18 EYES {details['eyes']}", font=label, fill=ink)
    y += gap
    draw.text(
        (tx, y + 4),
        f"9 CLASS {details['class']}   9a END {details['endorsements']}   12 RESTR {details['restrictions']}",
        font=label,
        fill=ink,
    )
    draw.text((30 if style["portrait"] == "left" else W - 560, H - 44), f"5 DD {details['dd']}", font=label, fill=ink)
    return img


def aamva_payload(details: dict) -> str:
    """An AAMVA (version 9) DL subfile for `details`, with a correct header."""
    state = details["state"]
    zip_digits = details["zip_code"].replace("-", "")
    zip11 = (zip_digits + "0000")[:9].ljust(11)

    def d(iso):
        y, m, dd = iso.split("-")
        return f"{m}{dd}{y}"

    elements = [
        ("DCA", details["class"]),
        ("DCB", details["restrictions"]),
        ("DCD", details["endorsements"]),
        ("DBA", d(details["expiration_date"])),
        ("DCS", details["last_name"]),
        ("DAC", details["first_name"]),
        ("DAD", details.get("middle_name") or "NONE"),
        ("DBD", d(details["date_of_issue"])),
        ("DBB", d(details["date_of_birth"])),
        ("DBC", "1" if details["sex"] == "M" else "2"),
        ("DAY", details["eyes"]),
        ("DAU", details["height"].replace("-", "") + " IN"),
        ("DAG", details["address"]),
        ("DAI", details["city"]),
        ("DAJ", state),
        ("DAK", zip11),
        ("DAQ", details["document_number"]),
        ("DCF", details["dd"]),
        ("DCG", "USA"),
        ("DDE", "N"),
        ("DDF", "N"),
        ("DDG", "N"),
    ]
    subfile = "DL" + "\n".join(k + v for k, v in elements) + "\r"
    iin = IIN_BY_STATE.get(state, "636000")
    # "@\n\x1e\r" + "ANSI " + IIN(6) + version(2) + jurisdiction version(2) + entries(2) = 21,
    # then one subfile designator: type(2) + offset(4) + length(4) = 10
    header_len = 21 + 10
    offset = header_len
    header = f"@\n\x1e\rANSI {iin}090101DL{offset:04d}{len(subfile):04d}"  # AAMVA v9, 1 entry
    return header + subfile


def licence_back(details: dict):
    """Draw the licence back: a PDF417 AAMVA barcode and some fine print."""
    import pdf417gen
    from PIL import Image, ImageDraw

    codes = pdf417gen.encode(aamva_payload(details), columns=13, security_level=5)
    code = pdf417gen.render_image(codes, scale=2, ratio=3, padding=10)
    img = Image.new("RGB", (W, H), (245, 245, 240))
    code.thumbnail((W - 80, H - 160))
    img.paste(code, ((W - code.width) // 2, 60))
    draw = ImageDraw.Draw(img)
    draw.text((40, H - 70), "SPECIMEN - NOT A GOVERNMENT DOCUMENT", font=font("DejaVuSans", 20), fill=(80, 80, 80))
    return img


def make_licence(
    details: dict | None = None,
    portrait=None,
    layout: int = 0,
    degrade: bool = False,
    seed: int = 0,
    barcode_details: dict | None = None,
) -> tuple[bytes, bytes]:
    """(front_png, back_png) of a synthetic US driving licence.

    `barcode_details` (tests) lets the back's barcode disagree with the printed front.
    """
    details = complete_details(details, seed)
    front = licence_front(details, portrait, layout)
    back = licence_back(complete_details(barcode_details, seed) if barcode_details else details)
    if degrade:
        front = degrade_image(front, seed)
        back = degrade_image(back, seed + 1, strength=0.6)
    return to_png(front), to_png(back)


# ---------------------------------------------------------------- expected reading


def expected_licence_fields(details: dict) -> dict[str, str]:
    """What a perfect reader returns for a licence front (Textract names; dates ISO)."""
    out = {
        "DOCUMENT_NUMBER": details["document_number"],
        "LAST_NAME": details["last_name"],
        "FIRST_NAME": details["first_name"],
        "DATE_OF_BIRTH": details["date_of_birth"],
        "DATE_OF_ISSUE": details["date_of_issue"],
        "EXPIRATION_DATE": details["expiration_date"],
        "ADDRESS": details["address"],
        "CITY_IN_ADDRESS": details["city"],
        "STATE_IN_ADDRESS": details["state"],
        "ZIP_CODE_IN_ADDRESS": details["zip_code"],
        "CLASS": details["class"],
        "RESTRICTIONS": details["restrictions"],
        "ENDORSEMENTS": details["endorsements"],
    }
    if details.get("middle_name"):
        out["MIDDLE_NAME"] = details["middle_name"]
    return out
