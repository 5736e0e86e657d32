"""The demo city's raw material: the profile's districts with their demo tables, and the words, names
and numbers its generated rows are made of. Every generator takes the seed's `random.Random`, so a
seed gives the same city."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.city import CityProfile


@dataclass(frozen=True)
class DistrictInfo:
    code: str
    name: str
    urban: bool
    lat: float
    lon: float
    share: float  # of the city's elevators
    maintenance_units: int
    streets: tuple[str, ...]


@dataclass(frozen=True)
class DemoCity:
    """The city profile (cities/*.toml) with its demo material: what the seed builds a city from."""

    profile: CityProfile
    districts: tuple[DistrictInfo, ...]

    @property
    def urban_district(self) -> str:
        """Where the demo users live: the first urban district (通川区, 海州区)."""
        return self.profile.first_urban_district.code

    @property
    def device_prefix(self) -> str:
        return str(self.profile.demo.get("device_prefix", "IOT"))

    @property
    def email_domain(self) -> str:
        return str(self.profile.demo.get("email_domain", f"{self.profile.key}.example.com"))

    @property
    def province_short(self) -> str:
        return self.profile.province_zh.removesuffix("省")

    def landline(self, rng: random.Random) -> str:
        return f"{self.profile.demo.get('area_code', '0000')}-{rng.randint(2_000_000, 2_999_999)}"


def demo_city(profile: CityProfile) -> DemoCity:
    """The profile's districts with their demo shares, unit counts and streets."""
    districts = []
    for d in profile.districts:
        demo = d.demo
        if not demo.get("streets") or "share" not in demo:
            raise ValueError(f"district {d.code} {d.name} has no demo table (share, maintenance_units, streets)")
        info = DistrictInfo(d.code, d.name, d.urban, d.lat, d.lon, float(demo["share"]),
                            int(demo.get("maintenance_units", 2)), tuple(demo["streets"]))  # fmt: skip
        districts.append(info)
    return DemoCity(profile, tuple(districts))


WORDS = (
    "金山 凤凰 翠屏 滨江 锦绣 阳光 世纪 明月 龙湾 东方 华都 天誉 南城 星河 御景 香山 银河 紫薇 丽景 江湾 "
    "盛世 绿洲 名都 君临 蓝湾 书香 和谐 嘉禾 金色 巴山 州河 莲湖 塔沱 西圣 北湖 仁和 安泰 恒泰 鑫源 万和 "
    "富华 瑞祥 康城 福瑞 宏达 惠民 美景 翡翠 天骄 新城 锦江 金桂 玉兰 九龙 馨苑 泰和 丰泽 通达 宏远"
).split()
LIFT_WORDS = (
    "通达 宏远 巴山 蜀通 凤凰 州河 安运 顺升 恒力 鑫达 金鼎 华升 川东 瑞通 捷运 天梯 永安 博远 长升 众诚 "
    "力拓 汇升 昌平 安捷 腾达 佳运 中恒 信诚 万升 宇通 联达 正升 云梯 德润 明远 升力 和泰 泰升 川渝 东升"
).split()
COMPOUND_SUFFIXES = ("小区", "花园", "苑", "名城", "华府", "公馆", "家园", "新村", "雅居", "国际")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰宇浩俊凯鹏飞雪梅琳婷欣怡晨阳"
MOBILE_PREFIXES = "138 139 135 136 158 159 150 151 182 183 187 188 180 199".split()
DEVICE_MODELS = ("LiftSense LS-200", "LiftSense LS-300 4G", "YunTi YT-E8", "SafeCar SC-4G", "BaShan BOX-2")
CN_NUMBERS = "一二三四五六七八九十"


def near(rng: random.Random, place: Any, spread: float) -> tuple[float, float]:
    """A point scattered around `place` (anything with lat and lon); `spread` in degrees."""
    return round(rng.gauss(place.lat, spread), 6), round(rng.gauss(place.lon, spread * 1.15), 6)


def unique(rng: random.Random, used: set[str], make: Callable[[], str]) -> str:
    """A name from `make` not yet in `used` (then added to it)."""
    for _ in range(50):
        name = make()
        if name not in used:
            break
    else:  # names ran out: number them, still deterministic
        base, n = make(), 2
        while f"{base}{n}" in used:
            n += 1
        name = f"{base}{n}"
    used.add(name)
    return name


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2))))


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
