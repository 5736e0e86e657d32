"""Regenerate the console's catalog: extract every message from web/console (Python and Jinja) with
Babel, translate it from the table in zh_CN.py, write web/translations/zh_CN/LC_MESSAGES/messages.po.
Messages without a translation are listed and left empty (shown in English)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from web.console.i18n.zh_CN import ZH_CN, ZH_CN_IN_CONTEXT

CONSOLE = Path(__file__).resolve().parent.parent
TARGET = CONSOLE.parent / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "pgettext": ((1, "c"), 2)}


def messages() -> list[tuple[str, int, str, str | None]]:
    """(file, line, message, context) of every message in the console's code and templates."""
    return [
        (filename, lineno, message, context)
        for filename, lineno, message, _comments, context in extract_from_dir(str(CONSOLE), METHODS, keywords=KEYWORDS)
        if isinstance(message, str) and message
    ]


def translation(message: str, context: str | None) -> str | None:
    return ZH_CN_IN_CONTEXT.get((context, message)) if context else ZH_CN.get(message)


def build() -> list[str]:
    catalog = Catalog(locale="zh_CN", project="liftcase console", fuzzy=False)
    missing = []
    for filename, lineno, message, context in messages():
        text = translation(message, context)
        if text is None:
            missing.append(message)
        catalog.add(message, text or "", locations=[(f"web/console/{filename}", lineno)], context=context)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with TARGET.open("wb") as out:
        write_po(out, catalog, width=120, sort_output=True)
    return missing


if __name__ == "__main__":
    left = build()
    print(f"wrote {TARGET}; untranslated: {left}")
    sys.exit(1 if left else 0)
