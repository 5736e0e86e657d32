"""Where equipment stands (场所类别) and which places are key places (重点场所): schools, hospitals,
stations, malls and elderly homes, where a breakdown puts many or frail people at risk. Regulators
inspect and rescue there first and count coverage (boxes per elevator) per category."""

from __future__ import annotations

from enum import StrEnum


class PlaceCategory(StrEnum):
    RESIDENTIAL = "residential"
    SCHOOL = "school"
    HOSPITAL = "hospital"
    STATION = "station"  # railway and bus stations, airports, metro
    MALL = "mall"
    ELDERLY_HOME = "elderly_home"
    HOTEL = "hotel"
    OFFICE = "office"
    PUBLIC = "public"  # government buildings, venues, parks
    INDUSTRIAL = "industrial"  # factories, warehouses, construction sites
    OTHER = "other"


KEY_PLACES = frozenset(
    {
        PlaceCategory.SCHOOL,
        PlaceCategory.HOSPITAL,
        PlaceCategory.STATION,
        PlaceCategory.MALL,
        PlaceCategory.ELDERLY_HOME,
    }
)
LABELS_ZH: dict[str, str] = {
    "residential": "住宅",
    "school": "学校",
    "hospital": "医院",
    "station": "车站",
    "mall": "商场",
    "elderly_home": "养老机构",
    "hotel": "宾馆酒店",
    "office": "办公楼",
    "public": "公共场所",
    "industrial": "厂矿企业",
    "other": "其他",
}
# Chinese names accepted in import files for each category.
ALIASES: dict[str, str] = {zh: key for key, zh in LABELS_ZH.items()} | {
    "住宅小区": "residential",
    "养老院": "elderly_home",
}


def is_key_place(category: str | None) -> bool:
    return category in KEY_PLACES


def place_category(value: str) -> str | None:
    """The category a cell names (key or Chinese name), or None when it names none."""
    value = value.strip()
    if value in PlaceCategory.__members__.values():
        return value
    return ALIASES.get(value)
