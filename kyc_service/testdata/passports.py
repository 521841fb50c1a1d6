"""Synthetic passports for tests and benchmarks (never an accuracy figure: no real passport is
in the fixtures).

- `make_passport(details, portrait, degrade, seed)` -> png: a TD3 data page with its MRZ
  (`td3_mrz`: ICAO 9303 check digits from `chalicelib.domain.mrz.check_digit`);
  `make_passport_card` -> png: a front laid out like the US passport card (no MRZ on the front).
- `td1_mrz`, `td2_mrz`, `td3_mrz`: machine-readable zones of the three ICAO formats.
"""

from __future__ import annotations

import random
import re

from kyc_service.testdata.docgen import H, W, complete_details, degrade_image, font, portrait_image, to_png


def _yymmdd(iso: str) -> str:
    y, m, d = iso.split("-")
    return y[2:] + m + d


def _print_date(iso: str) -> str:
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    y, m, d = iso.split("-")
    return f"{d} {months[int(m) - 1]} {y}"


def _mrz_name(surname: str, given: str, length: int) -> str:
    def part(text):
        return re.sub(r"[^A-Z<]", "", re.sub(r"[\s\-']+", "<", text.upper()))

    return (part(surname) + "<<" + part(given))[:length].ljust(length, "<")


def _field(text: str, length: int) -> str:
    return re.sub(r"[^A-Z0-9<]", "", text.upper().replace(" ", "<"))[:length].ljust(length, "<")


def td3_mrz(
    code: str,
    country: str,
    surname: str,
    given: str,
    number: str,
    nationality: str,
    birth: str,
    sex: str,
    expiry: str,
    personal: str = "",
) -> str:
    """A TD3 (passport) zone; dates YYMMDD. Check digits by ICAO 9303 (chalicelib.domain.mrz)."""
    from chalicelib.domain.mrz import check_digit as cd

    line1 = _field(code, 2) + _field(country, 3) + _mrz_name(surname, given, 39)
    num, pers = _field(number, 9), _field(personal, 14)
    pers_cd = cd(pers) if pers.strip("<") else "<"
    body = (
        num + cd(num) + _field(nationality, 3) + birth + cd(birth) + (sex or "<") + expiry + cd(expiry) + pers + pers_cd
    )
    line2 = body + cd(body[0:10] + body[13:20] + body[21:43])
    return line1 + "\n" + line2


def td2_mrz(
    code: str,
    country: str,
    surname: str,
    given: str,
    number: str,
    nationality: str,
    birth: str,
    sex: str,
    expiry: str,
    optional: str = "",
) -> str:
    from chalicelib.domain.mrz import check_digit as cd

    line1 = _field(code, 2) + _field(country, 3) + _mrz_name(surname, given, 31)
    num = _field(number, 9)
    body = (
        num
        + cd(num)
        + _field(nationality, 3)
        + birth
        + cd(birth)
        + (sex or "<")
        + expiry
        + cd(expiry)
        + _field(optional, 7)
    )
    return line1 + "\n" + body + cd(body[0:10] + body[13:20] + body[21:35])


def td1_mrz(
    code: str,
    country: str,
    number: str,
    birth: str,
    sex: str,
    expiry: str,
    nationality: str,
    surname: str,
    given: str,
    optional: str = "",
) -> str:
    from chalicelib.domain.mrz import check_digit as cd

    num = _field(number, 9)
    line1 = _field(code, 2) + _field(country, 3) + num + cd(num) + _field(optional, 15)
    head = birth + cd(birth) + (sex or "<") + expiry + cd(expiry) + _field(nationality, 3) + "<" * 11
    line2 = head + cd(line1[5:30] + head[0:7] + head[8:15] + head[18:29])
    return line1 + "\n" + line2 + "\n" + _mrz_name(surname, given, 30)


def passport_mrz(details: dict, country: str = "UTO") -> str:
    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    return td3_mrz(
        "P",
        country,
        details["last_name"],
        given,
        details["passport_number"],
        country,
        _yymmdd(details["date_of_birth"]),
        details["sex"],
        _yymmdd(details["expiration_date"]),
    )


PASSPORT_LABELS = {
    # ICAO's English labels, and the bilingual style many passports print (English / French)
    "plain": (
        "Type / Code / Passport No.",
        "Surname",
        "Given names",
        "Nationality",
        "Date of birth",
        "Sex / Place of birth",
        "Date of issue",
        "Date of expiry",
    ),
    "bilingual": (
        "Type/Type  Code/Code  Passport No./No. du passeport",
        "Surname/Nom",
        "Given names/Prénoms",
        "Nationality/Nationalité",
        "Date of birth/Date de naissance",
        "Sex/Sexe  Place of birth/Lieu de naissance",
        "Date of issue/Date de délivrance",
        "Date of expiration/Date d'expiration",
    ),
}


def passport_page(
    details: dict,
    portrait=None,
    country: str = "UTO",
    mrz_details=None,
    labels: str = "plain",
    mrz_override: str | None = None,
):
    """Draw the data page; `mrz_details` (tests) lets the MRZ disagree with the print and
    `mrz_override` replaces the zone's text (e.g. a wrong check digit)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1250, 880), (240, 236, 226))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 1250, 70), fill=(40, 60, 110))
    draw.text((30, 14), "PASSPORT  SPECIMEN", font=font("DejaVuSans-Bold", 34), fill="white")
    img.paste(portrait_image(portrait, (300, 380)), (40, 110))
    lab, val = font("DejaVuSans", 18), font("DejaVuSans-Bold", 28)
    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    values = (
        f"P   {country}   {details['passport_number']}",
        details["last_name"],
        given,
        country,
        _print_date(details["date_of_birth"]),
        f"{details['sex']}   {details['place_of_birth']}",
        _print_date(details["date_of_issue"]),
        _print_date(details["expiration_date"]),
    )
    y = 100
    for label, value in zip(PASSPORT_LABELS[labels], values, strict=False):
        draw.text((380, y), label, font=lab, fill=(90, 90, 90))
        draw.text((380, y + 22), value, font=val, fill=(20, 20, 30))
        y += 70
    mono = font("DejaVuSansMono", 34)
    zone = mrz_override or passport_mrz(mrz_details or details, country)
    for i, line in enumerate(zone.splitlines()):
        draw.text((40, 720 + i * 56), line, font=mono, fill=(10, 10, 10))
    return img


def make_passport(
    details: dict | None = None,
    portrait=None,
    degrade: bool = False,
    seed: int = 0,
    country: str = "UTO",
    mrz_details: dict | None = None,
    labels: str = "plain",
    mrz_override: str | None = None,
) -> bytes:
    """PNG of a synthetic TD3 passport data page."""
    details = complete_details(details, seed, passport=True)
    if mrz_details:
        mrz_details = complete_details(mrz_details, seed, passport=True)
    img = passport_page(details, portrait, country, mrz_details, labels, mrz_override)
    if degrade:
        img = degrade_image(img, seed)
    return to_png(img)


def passport_card_front(details: dict, portrait=None):
    """A front laid out like the US passport card: labels above values, no MRZ on the front."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (W, H), (232, 240, 246))
    draw = ImageDraw.Draw(img)
    draw.text((300, 22), "PASSPORT CARD", font=font("DejaVuSans-Bold", 34), fill=(30, 50, 110))
    draw.text((300, 66), "SPECIMEN", font=font("DejaVuSans", 20), fill=(120, 120, 140))
    img.paste(portrait_image(portrait, (240, 300)), (30, 110))
    lab, val = font("DejaVuSans", 17), font("DejaVuSans-Bold", 26)
    given = " ".join(p for p in (details["first_name"], details.get("middle_name")) if p)
    left = [
        ("Surname", details["last_name"]),
        ("Given Names", given),
        ("Nationality", "USA"),
        ("Date of Birth", _print_date(details["date_of_birth"])),
    ]
    right = [
        ("Passport Card no.", details["passport_number"]),
        ("Sex", details["sex"]),
        ("Place of Birth", details["place_of_birth"]),
        ("Issued On", _print_date(details["date_of_issue"])),
        ("Expires On", _print_date(details["expiration_date"])),
    ]
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
    return to_png(passport_card_front(details, portrait))


def expected_passport_fields(details: dict) -> dict[str, str]:
    out = {
        "DOCUMENT_NUMBER": details["passport_number"],
        "LAST_NAME": details["last_name"],
        "FIRST_NAME": details["first_name"],
        "DATE_OF_BIRTH": details["date_of_birth"],
        "EXPIRATION_DATE": details["expiration_date"],
        "ID_TYPE": "PASSPORT",
    }
    if details.get("middle_name"):
        out["MIDDLE_NAME"] = details["middle_name"]
    return out
