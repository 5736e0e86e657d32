"""Regenerate the console's catalog: extract every message from web/console (Python and Jinja) with
Babel, translate it from the table in zh_CN.py, write web/translations/zh_CN/LC_MESSAGES/messages.po.
Messages without a translation are listed and left empty (shown in English)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from web.console.i18n.zh_CN import ZH_CN

CONSOLE = Path(__file__).resolve().parent.parent
TARGET = CONSOLE.parent / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def build() -> list[str]:
    catalog = Catalog(locale="zh_CN", project="liftcase console", fuzzy=False)
    missing = []
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(CONSOLE), METHODS, keywords={"_": None, "gettext": None}
    ):
        if not isinstance(message, str) or not message:
            continue
        if message not in ZH_CN:
            missing.append(message)
        catalog.add(message, ZH_CN.get(message, ""), locations=[(f"web/console/{filename}", lineno)])
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with TARGET.open("wb") as out:
        write_po(out, catalog, width=120, sort_output=True)
    return missing


if __name__ == "__main__":
    left = build()
    print(f"wrote {TARGET}; untranslated: {left}")
    sys.exit(1 if left else 0)
