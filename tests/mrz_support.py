"""Machine-readable zones built with their check digits (chalicelib.domain.mrz.check_digit), for tests."""

from __future__ import annotations

from chalicelib.domain.mrz import check_digit


def td3(
    surname: str,
    given: str,
    number: str,
    birth: str,
    expiry: str,
    *,
    sex: str = "F",
    issuer: str = "USA",
    nationality: str = "USA",
    personal: str = "",
) -> str:
    """A passport zone (two lines of 44) whose check digits all hold. Dates as YYMMDD."""
    names = (surname.replace(" ", "<") + "<<" + given.replace(" ", "<")).ljust(39, "<")[:39]
    line1 = f"P<{issuer}{names}"
    number = number.ljust(9, "<")
    personal = personal.ljust(14, "<")
    personal_check = check_digit(personal) if personal.strip("<") else "<"
    body = (
        f"{number}{check_digit(number)}{nationality}{birth}{check_digit(birth)}{sex}"
        f"{expiry}{check_digit(expiry)}{personal}{personal_check}"
    )
    composite = check_digit(body[0:10] + body[13:20] + body[21:43])
    return f"{line1}\n{body}{composite}"
