"""What a console page shows its reader, and the words in it that belong to the other language or
are code (the one-language rule of tests/web/console/test_console_language.py)."""

from __future__ import annotations

import re

# Everything a person reads on the page, minus data and drawings (see the module's note).
VISIBLE_TEXT = """() => {
  const skip = '[translate=no], script, style, noscript, .djs-container, .leaflet-container, .bjs-container';
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest(skip) || !node.textContent.trim()) continue;
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    if (el.closest('select') && !el.closest('option')) continue;
    out.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], button[title], a[title]')) {
    if (el.closest(skip)) continue;
    for (const name of ['placeholder', 'aria-label', 'title']) {
      if (el.getAttribute(name)) out.push(el.getAttribute(name));
    }
  }
  return out;
}"""
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
# Latin words a Chinese page may show: units and formats people in the trade say as they are, the
# hotline's letters, and the modeler's technical names an analyst types (forms/*.json, dueIn, ISO 8601).
ZH_ALLOWED = {
    "PDF", "CSV", "XLSX", "JSON", "BPMN", "SLA", "IoT", "ISO", "SHA", "forms", "json", "dueIn", "PT5M", "NFC", "TSG",
}


def problems(texts: list[str], lang: str) -> list[str]:
    found = []
    for text in texts:
        if SNAKE.search(text):
            found.append(f"code {SNAKE.search(text).group(0)!r} in {text!r}")
        if lang == "en" and CJK.search(text):
            found.append(f"Chinese in English: {text!r}")
        if lang == "zh-CN":
            words = [w for w in LATIN_WORD.findall(text) if w not in ZH_ALLOWED]
            if words:
                found.append(f"English in Chinese: {words} in {text!r}")
    return found
