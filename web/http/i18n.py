"""zh-CN by default, English by a switch (`?lang=en`, remembered in a cookie), Asia/Shanghai for
every time shown. Flask-Babel with one translation directory per package that has pages
(each package owns its own catalog, so teams do not edit one shared file).

Catalogs are kept as .po sources; they are compiled to .mo under var/ when the app starts and a
.po is newer than its .mo, so no build product is committed.
"""

from __future__ import annotations

from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel

from infra.settings import CITY_TZ, ROOT

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "lang"
# Packages with translated pages; each holds <dir>/<locale>/LC_MESSAGES/messages.po
TRANSLATION_DIRS: list[Path] = [ROOT / "web" / "translations", ROOT / "connectors" / "qr" / "translations"]
COMPILED = ROOT / "var" / "translations"


def select_locale() -> str:
    asked = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked:
        asked = asked.replace("-", "_")
        for locale in LOCALES:
            if asked.lower() == locale.lower() or asked.lower().split("_")[0] == locale.lower().split("_")[0]:
                return locale
    return "en" if request.accept_languages.best_match(["zh-CN", "zh", "en"]) == "en" else DEFAULT_LOCALE


def compile_catalogs(sources: list[Path] = TRANSLATION_DIRS, target: Path = COMPILED) -> list[Path]:
    """Compile every .po to target/<n>/<locale>/LC_MESSAGES/messages.mo when the .mo is older.
    Returns the directories to hand to Flask-Babel (one per source directory)."""
    out: list[Path] = []
    for index, source in enumerate(sources):
        directory = target / str(index)
        for po in source.glob("*/LC_MESSAGES/messages.po"):
            # Babel looks catalogs up by str(Locale): "zh_CN" is "zh_Hans_CN", so compile under that name.
            mo = directory / str(Locale.parse(po.parent.parent.name)) / "LC_MESSAGES" / "messages.mo"
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                mo.parent.mkdir(parents=True, exist_ok=True)
                with po.open("rb") as src:
                    catalog = read_po(src)
                tmp = mo.with_suffix(".tmp")
                with tmp.open("wb") as dst:
                    write_mo(dst, catalog)
                tmp.replace(mo)  # atomic: several API processes may start at once
        out.append(directory)
    return out


def install(app: Flask) -> None:
    directories = compile_catalogs()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", CITY_TZ.key)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(d) for d in directories)
    Babel(app, locale_selector=select_locale)

    @app.after_request
    def _remember(response):  # type: ignore[no-untyped-def]
        asked = request.args.get("lang")
        if asked:
            response.set_cookie(LANG_COOKIE, select_locale(), max_age=365 * 86400, samesite="Lax")
        return response
