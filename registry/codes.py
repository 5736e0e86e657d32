"""Elevator identification codes: the 20-digit register code and the public QR code.

Register code (设备注册代码), 20 digits:

    3110 511702 2015 000123
    |    |      |    serial (6)
    |    |      year of registration (4)
    |    administrative region (6; its first two digits are the province: 51 Sichuan, 32 Jiangsu)
    equipment category (4)

The QR code is what passengers scan (`/r/{qr}`): short, stable for an elevator, and not
guessable from the register code without the salt, so walking codes does not enumerate the city.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

CATEGORIES: dict[str, str] = {
    "3110": "曳引驱动乘客电梯",
    "3120": "曳引驱动载货电梯",
    "3210": "液压驱动电梯",
    "3310": "自动扶梯",
    "3320": "自动人行道",
}
# Elevator.kind for each category; telemetry (GB/T 24476) applies to the car kinds only.
KIND_BY_CATEGORY: dict[str, str] = {
    "3110": "traction",
    "3120": "traction",
    "3210": "hydraulic",
    "3310": "escalator",
    "3320": "moving_walk",
}
YEAR_MIN, YEAR_MAX = 1980, 2030
REGISTER_CODE_LENGTH = 20
QR_CODE_LENGTH = 10
# Demo default only; a deployment passes its own secret so codes cannot be precomputed.
DEFAULT_QR_SALT = "liftcase-qr-v1"


@dataclass(frozen=True)
class RegisterCode:
    category: str
    region: str
    year: int
    serial: int

    @property
    def category_name(self) -> str:
        return CATEGORIES[self.category]

    @property
    def kind(self) -> str:
        return KIND_BY_CATEGORY[self.category]


def validate_register_code(code: str, province_prefix: str | None = None) -> list[str]:
    """Problems with `code` in plain words; an empty list means it is valid. `province_prefix`: the
    city profile's (infra/city.py); a code registered in another province is refused. None: any."""
    if not isinstance(code, str):
        return [f"register code must be a string, got {type(code).__name__}"]
    problems: list[str] = []
    if len(code) != REGISTER_CODE_LENGTH:
        problems.append(f"register code must have {REGISTER_CODE_LENGTH} digits, got {len(code)} characters")
    # str.isdigit accepts full-width and other Unicode digits; only ASCII 0-9 are valid here.
    if not (code.isascii() and code.isdigit()):
        problems.append("register code must contain only the digits 0-9")
    if problems:
        return problems  # the fields below are meaningless without the right shape
    category, region, year = code[:4], code[4:10], int(code[10:14])
    if category not in CATEGORIES:
        known = ", ".join(CATEGORIES)
        problems.append(f"unknown equipment category {category} (known: {known})")
    if province_prefix and not region.startswith(province_prefix):
        problems.append(f"region code {region} is not in this city's province ({province_prefix}xxxx)")
    if not YEAR_MIN <= year <= YEAR_MAX:
        problems.append(f"year {year} is outside {YEAR_MIN}..{YEAR_MAX}")
    return problems


def parse_register_code(code: str) -> RegisterCode:
    """Split a valid code into its fields; ValueError listing the problems otherwise."""
    problems = validate_register_code(code)
    if problems:
        raise ValueError(f"invalid register code {code!r}: " + "; ".join(problems))
    return RegisterCode(code[:4], code[4:10], int(code[10:14]), int(code[14:]))


def make_register_code(category: str, region: str, year: int, serial: int) -> str:
    """Assemble a register code; ValueError if the result would not validate."""
    if not 0 <= serial <= 999_999:
        raise ValueError(f"serial {serial} does not fit in 6 digits")
    if not 0 <= year <= 9999:
        raise ValueError(f"year {year} does not fit in 4 digits")
    code = f"{category}{region}{year:04d}{serial:06d}"
    problems = validate_register_code(code)
    if problems:
        raise ValueError(f"cannot make register code from {category}/{region}/{year}/{serial}: " + "; ".join(problems))
    return code


def make_qr_code(register_code: str, salt: str = DEFAULT_QR_SALT) -> str:
    """Deterministic public code: the first 10 base32 characters of HMAC-SHA256(salt, register code).

    50 bits: collisions among a city's elevators are unlikely but possible, so callers that
    assign codes must still check uniqueness (the seed does).
    """
    digest = hmac.new(salt.encode(), register_code.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:QR_CODE_LENGTH]
