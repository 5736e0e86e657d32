"""The city profile a deployment runs as (cities/<name>.toml, chosen by LIFTCASE_CITY): its names,
the province prefix of its register codes, the rescue hotline, its districts with their arrival
limits, the holiday calendar, the map centre and the report header. Read once and cached by path.

One product, any city: nothing else in the code names a city; whatever differs between cities is
here. The `demo` tables are read only by the demo seed (demo/), never by production code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

_DURATION = re.compile(r"^P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$")


class CityProfileError(ValueError):
    """The profile file is missing a field or holds a value that cannot be right."""


@dataclass(frozen=True)
class CityDistrict:
    code: str  # 6-digit administrative division code (starts with the province prefix)
    name: str
    urban: bool
    lat: float
    lon: float
    # The rescue arrival limit (ISO 8601 duration) for this district; "" means the city's urban/rural one.
    arrival_within: str = ""
    demo: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class CityProfile:
    key: str
    name_zh: str
    name_en: str
    short_zh: str  # "达州", as in 达州市, for names built from it
    province_zh: str
    province_prefix: str  # first two digits of the region part of every register code
    hotline: str
    report_header: str  # the platform's name at the top of every PDF page
    platform_zh: str
    platform_en: str
    map_centre: tuple[float, float]
    map_zoom: int
    arrival_within_urban: str
    arrival_within_rural: str
    districts: tuple[CityDistrict, ...]
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    demo: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def district(self, code: str) -> CityDistrict | None:
        return next((d for d in self.districts if d.code == code), None)

    def arrival_within(self, district: CityDistrict) -> str:
        if district.arrival_within:
            return district.arrival_within
        return self.arrival_within_urban if district.urban else self.arrival_within_rural

    @property
    def first_urban_district(self) -> CityDistrict:
        return next((d for d in self.districts if d.urban), self.districts[0])

    def public(self) -> dict[str, Any]:
        """What every page and API client may know about the city (no demo material)."""
        return {
            "key": self.key,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "province_prefix": self.province_prefix,
            "hotline": self.hotline,
            "platform_zh": self.platform_zh,
            "platform_en": self.platform_en,
            "report_header": self.report_header,
            "map_centre": list(self.map_centre),
            "map_zoom": self.map_zoom,
            "districts": [
                {"code": d.code, "name": d.name, "urban": d.urban, "arrival_within": self.arrival_within(d)}
                for d in self.districts
            ],
        }


def city_file(city: str, cities_dir: Path) -> Path:
    """A shipped profile's name ("dazhou") or the path of any profile file."""
    if city.endswith(".toml") or "/" in city:
        return Path(city)
    return cities_dir / f"{city}.toml"


def shipped_cities(cities_dir: Path) -> list[str]:
    return sorted(p.stem for p in cities_dir.glob("*.toml"))


@lru_cache(maxsize=8)
def load_city(path: Path) -> CityProfile:
    """The profile in `path`; CityProfileError naming the field when something is wrong."""
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError as err:
        raise CityProfileError(f"no city profile at {path}") from err
    except tomllib.TOMLDecodeError as err:
        raise CityProfileError(f"{path}: not valid TOML: {err}") from err
    return _profile(raw, path)


def _need(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise CityProfileError(f"{where}: missing {key!r}")
    return table[key]


def _duration(value: str, where: str) -> str:
    if not isinstance(value, str) or not _DURATION.match(value) or value in ("P", "PT"):
        raise CityProfileError(f"{where}: {value!r} is not an ISO 8601 duration like PT30M")
    return value


def _dates(values: list[Any], where: str) -> frozenset[date]:
    try:
        return frozenset(v if isinstance(v, date) else date.fromisoformat(str(v)) for v in values)
    except ValueError as err:
        raise CityProfileError(f"{where}: {err}") from err


def _profile(raw: dict[str, Any], path: Path) -> CityProfile:
    where = str(path)
    city = _need(raw, "city", where)
    prefix = str(_need(city, "province_prefix", f"{where} [city]"))
    if not (len(prefix) == 2 and prefix.isascii() and prefix.isdigit()):
        raise CityProfileError(f"{where} [city]: province_prefix must be two digits, got {prefix!r}")
    hotline = str(_need(city, "hotline", f"{where} [city]"))
    if not (hotline.isascii() and hotline.replace("-", "").isdigit()):
        raise CityProfileError(f"{where} [city]: hotline must be a phone number, got {hotline!r}")
    rescue = raw.get("rescue", {})
    districts = []
    for n, d in enumerate(_need(raw, "districts", where), start=1):
        at = f"{where} [[districts]] #{n}"
        code = str(_need(d, "code", at))
        if not (len(code) == 6 and code.isdigit() and code.startswith(prefix)):
            raise CityProfileError(f"{at}: code {code!r} must be 6 digits starting with {prefix}")
        districts.append(
            CityDistrict(
                code=code,
                name=str(_need(d, "name", at)),
                urban=bool(_need(d, "urban", at)),
                lat=float(_need(d, "lat", at)),
                lon=float(_need(d, "lon", at)),
                arrival_within=_duration(d["arrival_within"], at) if d.get("arrival_within") else "",
                demo=dict(d.get("demo", {})),
            )
        )
    if not districts:
        raise CityProfileError(f"{where}: a city needs at least one district")
    if len({d.code for d in districts}) != len(districts):
        raise CityProfileError(f"{where}: district codes repeat")
    calendar = raw.get("calendar", {})
    map_ = raw.get("map", {})
    centre = map_.get("centre") or [districts[0].lat, districts[0].lon]
    return CityProfile(
        key=str(city.get("key") or path.stem),
        name_zh=str(_need(city, "name_zh", f"{where} [city]")),
        name_en=str(_need(city, "name_en", f"{where} [city]")),
        short_zh=str(city.get("short_zh") or str(city["name_zh"]).removesuffix("市")),
        province_zh=str(_need(city, "province_zh", f"{where} [city]")),
        province_prefix=prefix,
        hotline=hotline,
        report_header=str(_need(raw.get("report", {}), "header", f"{where} [report]")),
        platform_zh=str(city.get("platform_zh") or raw.get("report", {})["header"]),
        platform_en=str(city.get("platform_en") or f"{city['name_en']} elevator safety platform"),
        map_centre=(float(centre[0]), float(centre[1])),
        map_zoom=int(map_.get("zoom", 10)),
        arrival_within_urban=_duration(rescue.get("arrival_within_urban", "PT30M"), f"{where} [rescue]"),
        arrival_within_rural=_duration(rescue.get("arrival_within_rural", "PT60M"), f"{where} [rescue]"),
        districts=tuple(districts),
        holidays=_dates(calendar.get("holidays", []), f"{where} [calendar] holidays"),
        makeup_workdays=_dates(calendar.get("makeup_workdays", []), f"{where} [calendar] makeup_workdays"),
        demo=dict(raw.get("demo", {})),
    )
