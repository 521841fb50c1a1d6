"""Synthetic identity documents for tests, the demo and benchmarks.

- `make_licence(details, portrait, layout, degrade, seed)` -> (front_png, back_png): a US
  driving licence front with numbered AAMVA fields (4d DLN, 1 family name, 2 given names,
  8 address, 3 DOB, 4a issue, 4b expiry, 5 DD, 15 sex, 16 height, 9 class, 9a end, 12 restr)
  in one of several layouts (positions, fonts, colours; red DLN/DOB on some "states"), and a
  back with a real PDF417 AAMVA barcode (pdf417gen).
- `make_passport(details, portrait, degrade, seed)` -> png: a TD3 data page whose MRZ comes
  from the `mrz` package's generator.
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

FIRST = ["ASHISH", "MARIA", "JOHN", "LINDA", "CARLOS", "EMILY", "DAVID", "GRACE", "OMAR",
         "SOFIA", "PETER", "NADIA", "KEVIN", "HELEN", "RAVI", "CLARA"]
MIDDLE = ["", "R", "LEE", "ANN", "JAMES", "MARIE", "J", "PAUL"]
LAST = ["PALANKAR", "GARCIA", "JOHNSON", "NGUYEN", "SMITH", "OKAFOR", "MULLER", "KOWALSKI",
        "ROBERTSON", "TANAKA", "BROWN", "HERNANDEZ", "WILSON", "PATEL", "LOPEZ", "ANDERSON"]
STREETS = ["MAIN ST", "OAK AVE", "PINE RD", "MAPLE DR", "ELM ST", "CEDAR LN", "LAKE BLVD",
           "HILL CT", "RIVER RD", "SUNSET AVE"]
PLACES = [("TALLAHASSEE", "FL", "32301", "636010", "FLORIDA"),
          ("AUSTIN", "TX", "78701", "636015", "TEXAS"),
          ("SACRAMENTO", "CA", "95814", "636014", "CALIFORNIA"),
          ("ALBANY", "NY", "12207", "636001", "NEW YORK"),
          ("DENVER", "CO", "80202", "636020", "COLORADO"),
          ("SEATTLE", "WA", "98101", "636045", "WASHINGTON")]
IIN_BY_STATE = {p[1]: p[3] for p in PLACES}
STATE_NAMES = {p[1]: p[4] for p in PLACES}

# One entry per layout ("state style"): background, accent, text colours, font family,
# portrait side, which fields print in red, and row spacing.
LAYOUTS = (
    {"bg": (236, 242, 250), "band": (30, 70, 140), "ink": (20, 20, 30), "font": "DejaVuSans",
     "bold": "DejaVuSans-Bold", "portrait": "left", "red": ("4d",), "gap": 44},
    {"bg": (250, 244, 226), "band": (150, 40, 40), "ink": (35, 25, 20), "font": "DejaVuSerif",
     "bold": "DejaVuSerif-Bold", "portrait": "left", "red": ("3",), "gap": 46},
    {"bg": (232, 246, 236), "band": (20, 110, 60), "ink": (10, 40, 20),
     "font": "DejaVuSansCondensed", "bold": "DejaVuSansCondensed-Bold", "portrait": "right",
     "red": ("4d", "3"), "gap": 44},
    {"bg": (244, 238, 250), "band": (90, 50, 130), "ink": (30, 20, 45), "font": "DejaVuSansMono",
     "bold": "DejaVuSansMono-Bold", "portrait": "right", "red": (), "gap": 45},
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
    dln = f"{letter}{rnd.randint(100, 999)}-{rnd.randint(100, 999)}-{rnd.randint(10, 99)}-{rnd.randint(100, 999)}-{rnd.randint(0, 9)}"
    return {
        "first_name": rnd.choice(FIRST), "middle_name": rnd.choice(MIDDLE),
        "last_name": rnd.choice(LAST),
        "date_of_birth": dob.isoformat(), "date_of_issue": issue.isoformat(),
        "expiration_date": expiry.isoformat(),
        "document_number": dln,
        "address": f"{rnd.randint(10, 9999)} {rnd.choice(STREETS)}",
        "city": city, "state": state,
        "zip_code": zip5 + (f"-{rnd.randint(1000, 9999)}" if rnd.random() < 0.5 else ""),
        "sex": rnd.choice("MF"), "height": f"{rnd.randint(5, 6)}-{rnd.randint(0, 11):02d}",
        "eyes": rnd.choice(["BRO", "BLU", "GRN", "HAZ"]),
        "class": rnd.choice(["C", "D", "E"]), "restrictions": rnd.choice(["NONE", "A", "B"]),
        "endorsements": "NONE",
        "dd": "".join(rnd.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(12)),
    }


ALIASES = {"id_value": "document_number", "zip": "zip_code", "dob": "date_of_birth"}


def complete_details(details: dict | None, seed: int = 0, passport: bool = False) -> dict:
    """`details` with every missing key filled from `random_details(seed)`.

    Accepts the create_or_update body's names (first_name, last_name, middle_name,
    date_of_birth, id_value, address, city, state, zip_code); values are upper-cased as
    printed on cards. For passports `passport_number` defaults to `document_number`.
    """
    base = passport_details(seed) if passport else random_details(seed)
    given = {ALIASES.get(k, k): v for k, v in (details or {}).items() if v is not None}
    out = {**base, **{k: (v.upper() if isinstance(v, str) and "date" not in k else v)
                      for k, v in given.items()}}
    if passport and "passport_number" not in given and "document_number" in given:
        out["passport_number"] = re.sub(r"[^A-Z0-9]", "", out["document_number"])[:9]
    if "city" in given and "state" not in given:
        out["state"] = base["state"]
    return out


def _us_date(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{m}/{d}/{y}"


# ---------------------------------------------------------------- drawing helpers

def _font(name: str, size: int):
    from PIL import ImageFont

    for folder in FONT_DIRS:
        path = os.path.join(folder, name + ".ttf")
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _portrait_image(portrait, size):
    from PIL import Image, ImageOps

    if portrait is None:
        img = Image.new("RGB", size, (200, 200, 200))
    elif isinstance(portrait, (bytes, bytearray)):
        img = Image.open(io.BytesIO(portrait)).convert("RGB")
    else:
        img = portrait.convert("RGB")
    return ImageOps.fit(img, size, Image.LANCZOS)


def _png(img) -> bytes:
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


def photograph(png: bytes, seed: int = 0, max_angle: float = 5.0) -> bytes:
    """The document as if photographed on a table: rotated up to `max_angle` degrees,
    scaled, placed on a noisy 2000x1500 background, saved as JPEG."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    card = Image.open(io.BytesIO(png)).convert("RGB")
    scale = float(rng.uniform(1.0, 1.5))
    card = card.rotate(float(rng.uniform(-max_angle, max_angle)), resample=Image.BICUBIC,
                       expand=True, fillcolor=(110, 110, 110))
    card = card.resize((int(card.width * scale), int(card.height * scale)), Image.LANCZOS)
    width, height = max(2000, card.width + 40), max(1500, card.height + 40)
    bg = Image.fromarray(rng.normal(110, 25, (height, width, 3)).clip(0, 255).astype(np.uint8))
    bg.paste(card, (int(rng.uniform(0, width - card.width)), int(rng.uniform(0, height - card.height))))
    buf = io.BytesIO()
    bg.save(buf, "JPEG", quality=80)
    return buf.getvalue()


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
    draw.text((28, 14), STATE_NAMES.get(state, state), font=_font(style["bold"], 40),
              fill="white")
    draw.text((W - 330, 24), "DRIVER LICENSE", font=_font(style["bold"], 30), fill="white")
    draw.text((W - 200, H - 44), "SPECIMEN", font=_font(style["font"], 22), fill=(160, 160, 170))

    pw, ph = 280, 350
    if style["portrait"] == "left":
        px, tx = 30, 340
    else:
        px, tx = W - pw - 30, 36
    img.paste(_portrait_image(portrait, (pw, ph)), (px, 120))

    label = _font(style["font"], 22)
    value = _font(style["bold"], 30)
    ink = style["ink"]
    gap = style["gap"]
    y = 112

    def row(num: str, text: str, x=tx, big=True):
        colour = RED if num in style["red"] else ink
        draw.text((x, y), f"{num} {text}", font=value if big else label, fill=colour)

    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    row("4d", "DLN " + details["document_number"]); y += gap
    row("1", details["last_name"]); y += gap - 4
    row("2", given); y += gap - 4
    row("8", details["address"]); y += gap - 8
    draw.text((tx + 28, y), f"{details['city']}, {state} {details['zip_code']}", font=value,
              fill=ink)
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
    draw.text((tx, y + 4), f"9 CLASS {details['class']}   9a END {details['endorsements']}   "
              f"12 RESTR {details['restrictions']}", font=label, fill=ink)
    draw.text((30 if style["portrait"] == "left" else W - 560, H - 44),
              f"5 DD {details['dd']}", font=label, fill=ink)
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
        ("DCA", details["class"]), ("DCB", details["restrictions"]),
        ("DCD", details["endorsements"]),
        ("DBA", d(details["expiration_date"])), ("DCS", details["last_name"]),
        ("DAC", details["first_name"]), ("DAD", details.get("middle_name") or "NONE"),
        ("DBD", d(details["date_of_issue"])), ("DBB", d(details["date_of_birth"])),
        ("DBC", "1" if details["sex"] == "M" else "2"), ("DAY", details["eyes"]),
        ("DAU", details["height"].replace("-", "") + " IN"),
        ("DAG", details["address"]), ("DAI", details["city"]), ("DAJ", state),
        ("DAK", zip11), ("DAQ", details["document_number"]), ("DCF", details["dd"]),
        ("DCG", "USA"), ("DDE", "N"), ("DDF", "N"), ("DDG", "N"),
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
    draw.text((40, H - 70), "SPECIMEN - NOT A GOVERNMENT DOCUMENT", font=_font("DejaVuSans", 20),
              fill=(80, 80, 80))
    return img


def make_licence(details: dict | None = None, portrait=None, layout: int = 0,
                 degrade: bool = False, seed: int = 0,
                 barcode_details: dict | None = None) -> tuple[bytes, bytes]:
    """(front_png, back_png) of a synthetic US driving licence.

    `barcode_details` (tests) lets the back's barcode disagree with the printed front.
    """
    details = complete_details(details, seed)
    front = licence_front(details, portrait, layout)
    back = licence_back(complete_details(barcode_details, seed) if barcode_details else details)
    if degrade:
        front = degrade_image(front, seed)
        back = degrade_image(back, seed + 1, strength=0.6)
    return _png(front), _png(back)


# ---------------------------------------------------------------- passport

def _yymmdd(iso: str) -> str:
    y, m, d = iso.split("-")
    return y[2:] + m + d


def _print_date(iso: str) -> str:
    months = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
    y, m, d = iso.split("-")
    return f"{d} {months[int(m) - 1]} {y}"


def passport_mrz(details: dict, country: str = "UTO") -> str:
    from mrz.generator.td3 import TD3CodeGenerator

    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    code = TD3CodeGenerator("P", country, details["last_name"], given,
                            details["passport_number"], country,
                            _yymmdd(details["date_of_birth"]), details["sex"],
                            _yymmdd(details["expiration_date"]))
    return str(code)


def passport_details(seed: int = 0) -> dict:
    rnd = random.Random(seed + 7919)
    d = random_details(seed)
    d["passport_number"] = "".join(rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2)) + \
        "".join(rnd.choice("0123456789") for _ in range(7))
    d["place_of_birth"] = d["city"]
    return d


def passport_page(details: dict, portrait=None, country: str = "UTO", mrz_details=None):
    """Draw the data page; `mrz_details` (tests) lets the MRZ disagree with the print."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1250, 880), (240, 236, 226))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 1250, 70), fill=(40, 60, 110))
    draw.text((30, 14), "PASSPORT  SPECIMEN", font=_font("DejaVuSans-Bold", 34), fill="white")
    img.paste(_portrait_image(portrait, (300, 380)), (40, 110))
    lab, val = _font("DejaVuSans", 18), _font("DejaVuSans-Bold", 28)
    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    rows = [("Type / Code / Passport No.", f"P   {country}   {details['passport_number']}"),
            ("Surname", details["last_name"]), ("Given names", given),
            ("Nationality", country), ("Date of birth", _print_date(details["date_of_birth"])),
            ("Sex / Place of birth", f"{details['sex']}   {details['place_of_birth']}"),
            ("Date of issue", _print_date(details["date_of_issue"])),
            ("Date of expiry", _print_date(details["expiration_date"]))]
    y = 100
    for label, value in rows:
        draw.text((380, y), label, font=lab, fill=(90, 90, 90))
        draw.text((380, y + 22), value, font=val, fill=(20, 20, 30))
        y += 70
    mono = _font("DejaVuSansMono", 34)
    for i, line in enumerate(passport_mrz(mrz_details or details, country).splitlines()):
        draw.text((40, 720 + i * 56), line, font=mono, fill=(10, 10, 10))
    return img


def make_passport(details: dict | None = None, portrait=None, degrade: bool = False,
                  seed: int = 0, country: str = "UTO", mrz_details: dict | None = None) -> bytes:
    """PNG of a synthetic TD3 passport data page."""
    details = complete_details(details, seed, passport=True)
    if mrz_details:
        mrz_details = complete_details(mrz_details, seed, passport=True)
    img = passport_page(details, portrait, country, mrz_details)
    if degrade:
        img = degrade_image(img, seed)
    return _png(img)


# ---------------------------------------------------------------- expected reading

def expected_licence_fields(details: dict) -> dict[str, str]:
    """What a perfect reader returns for a licence front (Textract names; dates ISO)."""
    out = {
        "DOCUMENT_NUMBER": details["document_number"], "LAST_NAME": details["last_name"],
        "FIRST_NAME": details["first_name"],
        "DATE_OF_BIRTH": details["date_of_birth"], "DATE_OF_ISSUE": details["date_of_issue"],
        "EXPIRATION_DATE": details["expiration_date"], "ADDRESS": details["address"],
        "CITY_IN_ADDRESS": details["city"], "STATE_IN_ADDRESS": details["state"],
        "ZIP_CODE_IN_ADDRESS": details["zip_code"], "CLASS": details["class"],
        "RESTRICTIONS": details["restrictions"], "ENDORSEMENTS": details["endorsements"],
    }
    if details.get("middle_name"):
        out["MIDDLE_NAME"] = details["middle_name"]
    return out


def expected_passport_fields(details: dict) -> dict[str, str]:
    out = {"DOCUMENT_NUMBER": details["passport_number"], "LAST_NAME": details["last_name"],
           "FIRST_NAME": details["first_name"], "DATE_OF_BIRTH": details["date_of_birth"],
           "EXPIRATION_DATE": details["expiration_date"], "ID_TYPE": "PASSPORT"}
    if details.get("middle_name"):
        out["MIDDLE_NAME"] = details["middle_name"]
    return out
