"""The demo city's raw material: Dazhou's districts, and the words, names and numbers its generated
rows are made of. Every generator takes the seed's `random.Random`, so a seed gives the same city."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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


# Centres are the district seats, approximately.
DISTRICTS: tuple[DistrictInfo, ...] = (
    DistrictInfo("511702", "通川区", True, 31.2140, 107.5010, 0.42, 14,
                 ("朝阳东路", "朝阳西路", "通川北路", "通川中路", "通川南路", "凤凰大道", "金龙大道",
                  "西外大道", "北外大道", "荷叶街", "来凤路", "塔沱路")),
    DistrictInfo("511703", "达川区", True, 31.1960, 107.5110, 0.26, 9,
                 ("三里坪大道", "翠屏路", "长田坝路", "明月大道", "通达东路", "河市大道", "南外人民路",
                  "滨河路")),
    DistrictInfo("511722", "宣汉县", False, 31.3540, 107.7270, 0.08, 4,
                 ("东乡大道", "解放街", "新华街", "中山街", "南坝路", "城南路")),
    DistrictInfo("511723", "开江县", False, 31.0830, 107.8680, 0.03, 2,
                 ("新宁大道", "淙城路", "东环路", "人民路", "宝泉路")),
    DistrictInfo("511724", "大竹县", False, 30.7360, 107.2040, 0.08, 4,
                 ("竹阳大道", "白塔路", "东柳街", "人民路", "北大街", "庙坝路")),
    DistrictInfo("511725", "渠县", False, 30.8360, 106.9730, 0.08, 4,
                 ("渠江大道", "文化路", "宕渠大道", "人民街", "新南路", "賨人路")),
    DistrictInfo("511781", "万源市", False, 32.0810, 108.0360, 0.05, 3,
                 ("人民路", "红旗街", "万家坝路", "古东关路", "北大街")),
)  # fmt: skip
URBAN_DISTRICT = "511702"  # 通川区: where the demo users live

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


def landline(rng: random.Random) -> str:
    return f"0818-{rng.randint(2_000_000, 2_999_999)}"
