"""Synthetic identity documents for tests, the demo and benchmarks.

- `make_licence(details, portrait, layout, degrade, seed)` -> (front_png, back_png): a US
  driving licence front with numbered AAMVA fields (4d DLN, 1 family name, 2 given names,
  8 address, 3 DOB, 4a issue, 4b expiry, 5 DD, 15 sex, 16 height, 9 class, 9a end, 12 restr)
  in one of several layouts (positions, fonts, colours; red DLN/DOB on some "states"), and a
  back with a real PDF417 AAMVA barcode (pdf417gen).
- `make_passport(details, portrait, degrade, seed)` -> png: a TD3 data page with its MRZ
  (`td3_mrz`: ICAO 9303 check digits from `chalicelib.mrz.check_digit`); `make_passport_card`
  -> png: a front laid out like the US passport card (no MRZ on the front).
- `td1_mrz`, `td2_mrz`, `td3_mrz`: machine-readable zones of the three ICAO formats.
- `photograph(png, ...)`: a document photographed on a table (turned, in perspective, blurred).
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


def photograph(png: bytes, seed: int = 0, max_angle: float = 5.0, quarter_turns: int = 0,
               perspective: float = 0.0, blur: float = 0.0, fill: float | None = None,
               frame: tuple[int, int] = (2000, 1500), quality: int = 80) -> bytes:
    """The document as if photographed on a table, as a JPEG of `frame` size:
    - turned by `quarter_turns` x 90 degrees plus up to `max_angle` degrees either way;
    - seen at an angle: each corner moved by up to `perspective` x the document's size;
    - `fill`: the share of the frame the document's long side spans (default 0.5-0.75);
    - on a background with a colour gradient, a grain like a table's and noise;
    - Gaussian `blur` (sigma, pixels)."""
    import cv2
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    card = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    fw, fh = frame
    h, w = card.shape[:2]
    # `fill`: the share of the frame the document's long side spans, along the side it runs by
    along = fw if quarter_turns % 2 == 0 else fh
    span = (fill if fill is not None else float(rng.uniform(0.5, 0.75))) * along
    scale = span / max(w, h)
    cx, cy = fw / 2 + rng.uniform(-0.08, 0.08) * fw, fh / 2 + rng.uniform(-0.08, 0.08) * fh
    angle = np.radians(90 * quarter_turns + rng.uniform(-max_angle, max_angle))
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) * scale
    corners += rng.uniform(-perspective, perspective, (4, 2)) * max(w, h) * scale
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = (corners @ rot.T + [cx, cy]).astype(np.float32)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(card, m, (fw, fh), flags=cv2.INTER_CUBIC)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (fw, fh))
    base = rng.uniform(60, 170, 3)
    ys, xs = np.mgrid[0:fh, 0:fw].astype(np.float32)
    gradient = (xs / fw - 0.5)[..., None] * rng.uniform(-40, 40, 3) + \
        (ys / fh - 0.5)[..., None] * rng.uniform(-40, 40, 3)
    # a table's grain: wavy stripes at a random angle, and fine noise
    theta = rng.uniform(0, np.pi)
    along = xs * np.cos(theta) + ys * np.sin(theta)
    across = -xs * np.sin(theta) + ys * np.cos(theta)
    grain = np.sin(along / rng.uniform(6, 14) + 3 * np.sin(across / rng.uniform(80, 200)))
    streaks = cv2.resize(rng.normal(0, 1, (fh // 2, max(2, fw // 40))).astype(np.float32), (fw, fh),
                         interpolation=cv2.INTER_LINEAR)
    centre = (fw / 2, fh / 2)
    streaks = cv2.warpAffine(streaks, cv2.getRotationMatrix2D(centre, float(np.degrees(theta)), 1.5),
                             (fw, fh), borderMode=cv2.BORDER_REFLECT)
    bg = base + gradient + (grain * rng.uniform(6, 16) + streaks * rng.uniform(10, 25))[..., None] \
        + rng.normal(0, 18, (fh, fw, 3))
    bg = cv2.GaussianBlur(bg.astype(np.float32), (0, 0), 1.2)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    out = warped.astype(np.float32) * alpha + bg * (1 - alpha)
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def photograph_settings(index: int, seed: int = 0) -> dict:
    """The benchmark's photographs of real cards: every quarter turn in turn, up to 6 degrees
    of skew, perspective up to 6% of the card's size, blur 0.5-1.1 px, on a background."""
    rnd = random.Random(seed * 1000 + index)
    return {"seed": seed * 1000 + index, "quarter_turns": index % 4, "max_angle": 6.0,
            "perspective": 0.06, "blur": round(rnd.uniform(0.5, 1.1), 2),
            "fill": round(rnd.uniform(0.5, 0.7), 2)}


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


def _mrz_name(surname: str, given: str, length: int) -> str:
    def part(text):
        return re.sub(r"[^A-Z<]", "", re.sub(r"[\s\-']+", "<", text.upper()))
    return (part(surname) + "<<" + part(given))[:length].ljust(length, "<")


def _field(text: str, length: int) -> str:
    return re.sub(r"[^A-Z0-9<]", "", text.upper().replace(" ", "<"))[:length].ljust(length, "<")


def td3_mrz(code: str, country: str, surname: str, given: str, number: str, nationality: str,
            birth: str, sex: str, expiry: str, personal: str = "") -> str:
    """A TD3 (passport) zone; dates YYMMDD. Check digits by ICAO 9303 (chalicelib.mrz)."""
    from chalicelib.mrz import check_digit as cd

    line1 = _field(code, 2) + _field(country, 3) + _mrz_name(surname, given, 39)
    num, pers = _field(number, 9), _field(personal, 14)
    pers_cd = cd(pers) if pers.strip("<") else "<"
    body = num + cd(num) + _field(nationality, 3) + birth + cd(birth) + (sex or "<") + expiry + cd(expiry) + pers + pers_cd
    line2 = body + cd(body[0:10] + body[13:20] + body[21:43])
    return line1 + "\n" + line2


def td2_mrz(code: str, country: str, surname: str, given: str, number: str, nationality: str,
            birth: str, sex: str, expiry: str, optional: str = "") -> str:
    from chalicelib.mrz import check_digit as cd

    line1 = _field(code, 2) + _field(country, 3) + _mrz_name(surname, given, 31)
    num = _field(number, 9)
    body = num + cd(num) + _field(nationality, 3) + birth + cd(birth) + (sex or "<") + expiry + cd(expiry) + _field(optional, 7)
    return line1 + "\n" + body + cd(body[0:10] + body[13:20] + body[21:35])


def td1_mrz(code: str, country: str, number: str, birth: str, sex: str, expiry: str,
            nationality: str, surname: str, given: str, optional: str = "") -> str:
    from chalicelib.mrz import check_digit as cd

    num = _field(number, 9)
    line1 = _field(code, 2) + _field(country, 3) + num + cd(num) + _field(optional, 15)
    head = birth + cd(birth) + (sex or "<") + expiry + cd(expiry) + _field(nationality, 3) + "<" * 11
    line2 = head + cd(line1[5:30] + head[0:7] + head[8:15] + head[18:29])
    return line1 + "\n" + line2 + "\n" + _mrz_name(surname, given, 30)


def passport_mrz(details: dict, country: str = "UTO") -> str:
    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    return td3_mrz("P", country, details["last_name"], given, details["passport_number"], country,
                   _yymmdd(details["date_of_birth"]), details["sex"],
                   _yymmdd(details["expiration_date"]))


def passport_details(seed: int = 0) -> dict:
    rnd = random.Random(seed + 7919)
    d = random_details(seed)
    d["passport_number"] = "".join(rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2)) + \
        "".join(rnd.choice("0123456789") for _ in range(7))
    d["place_of_birth"] = d["city"]
    return d


PASSPORT_LABELS = {
    # ICAO's English labels, and the bilingual style many passports print (English / French)
    "plain": ("Type / Code / Passport No.", "Surname", "Given names", "Nationality", "Date of birth",
              "Sex / Place of birth", "Date of issue", "Date of expiry"),
    "bilingual": ("Type/Type  Code/Code  Passport No./No. du passeport", "Surname/Nom",
                  "Given names/Prénoms", "Nationality/Nationalité", "Date of birth/Date de naissance",
                  "Sex/Sexe  Place of birth/Lieu de naissance", "Date of issue/Date de délivrance",
                  "Date of expiration/Date d'expiration"),
}


def passport_page(details: dict, portrait=None, country: str = "UTO", mrz_details=None,
                  labels: str = "plain", mrz_override: str | None = None):
    """Draw the data page; `mrz_details` (tests) lets the MRZ disagree with the print and
    `mrz_override` replaces the zone's text (e.g. a wrong check digit)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1250, 880), (240, 236, 226))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 1250, 70), fill=(40, 60, 110))
    draw.text((30, 14), "PASSPORT  SPECIMEN", font=_font("DejaVuSans-Bold", 34), fill="white")
    img.paste(_portrait_image(portrait, (300, 380)), (40, 110))
    lab, val = _font("DejaVuSans", 18), _font("DejaVuSans-Bold", 28)
    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    values = (f"P   {country}   {details['passport_number']}", details["last_name"], given, country,
              _print_date(details["date_of_birth"]), f"{details['sex']}   {details['place_of_birth']}",
              _print_date(details["date_of_issue"]), _print_date(details["expiration_date"]))
    y = 100
    for label, value in zip(PASSPORT_LABELS[labels], values):
        draw.text((380, y), label, font=lab, fill=(90, 90, 90))
        draw.text((380, y + 22), value, font=val, fill=(20, 20, 30))
        y += 70
    mono = _font("DejaVuSansMono", 34)
    zone = mrz_override or passport_mrz(mrz_details or details, country)
    for i, line in enumerate(zone.splitlines()):
        draw.text((40, 720 + i * 56), line, font=mono, fill=(10, 10, 10))
    return img


def make_passport(details: dict | None = None, portrait=None, degrade: bool = False,
                  seed: int = 0, country: str = "UTO", mrz_details: dict | None = None,
                  labels: str = "plain", mrz_override: str | None = None) -> bytes:
    """PNG of a synthetic TD3 passport data page."""
    details = complete_details(details, seed, passport=True)
    if mrz_details:
        mrz_details = complete_details(mrz_details, seed, passport=True)
    img = passport_page(details, portrait, country, mrz_details, labels, mrz_override)
    if degrade:
        img = degrade_image(img, seed)
    return _png(img)


def passport_card_front(details: dict, portrait=None):
    """A front laid out like the US passport card: labels above values, no MRZ on the front."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (W, H), (232, 240, 246))
    draw = ImageDraw.Draw(img)
    draw.text((300, 22), "PASSPORT CARD", font=_font("DejaVuSans-Bold", 34), fill=(30, 50, 110))
    draw.text((300, 66), "SPECIMEN", font=_font("DejaVuSans", 20), fill=(120, 120, 140))
    img.paste(_portrait_image(portrait, (240, 300)), (30, 110))
    lab, val = _font("DejaVuSans", 17), _font("DejaVuSans-Bold", 26)
    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    left = [("Surname", details["last_name"]), ("Given Names", given),
            ("Nationality", "USA"), ("Date of Birth", _print_date(details["date_of_birth"]))]
    right = [("Passport Card no.", details["passport_number"]), ("Sex", details["sex"]),
             ("Place of Birth", details["place_of_birth"]),
             ("Issued On", _print_date(details["date_of_issue"])),
             ("Expires On", _print_date(details["expiration_date"]))]
    for x, rows, y in ((300, left, 120), (680, right, 120)):
        for label, value in rows:
            draw.text((x, y), label, font=lab, fill=(90, 90, 100))
            draw.text((x, y + 21), value, font=val, fill=(20, 20, 30))
            y += 78 if x == 300 else 70
    return img


def make_passport_card(details: dict | None = None, portrait=None, seed: int = 0) -> bytes:
    """PNG of a synthetic passport-card front (document number like C03005988)."""
    details = complete_details(details, seed, passport=True)
    if not re.fullmatch(r"C\d{8}", details.get("passport_number", "")):
        rnd = random.Random(seed)
        details["passport_number"] = "C" + "".join(rnd.choice("0123456789") for _ in range(8))
    return _png(passport_card_front(details, portrait))


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
