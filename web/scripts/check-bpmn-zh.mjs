// Does web/console/static/bpmn-zh.js give Chinese for every string the installed bpmn-js and
// diagram-js pass to `translate`? Reads their sources (lib/) for translate('...') calls and the
// replace menu's entry labels, prints the strings without Chinese and exits 1 if there are any,
// so a bpmn-js upgrade that adds words fails the test that runs this.
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(web, 'node_modules');
// Strings in bpmn-js's sources that are not words for people (a code example in a comment, SVG).
const NOT_WORDS = new Set(['HELLO {you}', ' + shift + ', 'Align elements ']);

const found = new Set();
const literal = `(['"])((?:\\\\.|(?!\\1)[^\\\\])*)\\1`;
function scan(path) {
  const text = readFileSync(path, 'utf8');
  for (const m of text.matchAll(new RegExp(`translate\\(\\s*${literal}`, 'g'))) found.add(m[2].replace(/\\'/g, "'"));
  if (/(ReplaceOptions|PopupEntries)\.js$/.test(path)) {
    for (const m of text.matchAll(new RegExp(`label:\\s*${literal}`, 'g'))) found.add(m[2]);
  }
  for (const m of text.matchAll(new RegExp(`ERR_MSG\\s*=\\s*${literal}`, 'g'))) found.add(m[2]);
}
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.js')) scan(path);
  }
}
walk(join(modules, 'bpmn-js', 'lib'));
walk(join(modules, 'diagram-js', 'lib'));

// The console imports the base dictionary by its served URL; here it is the installed file.
const source = readFileSync(join(web, 'console', 'static', 'bpmn-zh.js'), 'utf8').replace(
  '/static/npm/bpmn-js-i18n/zn.js', pathToFileURL(join(modules, 'bpmn-js-i18n', 'translations', 'zn.js')).href);
const copy = join(mkdtempSync(join(tmpdir(), 'bpmn-zh-')), 'bpmn-zh.mjs');
writeFileSync(copy, source);
const words = (await import(pathToFileURL(copy).href)).default;

const cjk = /[\u3400-\u9fff]/;
const latin = /[A-Za-z]{3,}/;
const missing = [...found].filter((s) => !NOT_WORDS.has(s)).filter((s) => {
  const zh = words[s];
  return !zh || !cjk.test(zh) || latin.test(zh.replace(/\{[^}]+\}/g, ''));
});
console.log(`${found.size} strings, ${missing.length} without Chinese`);
for (const s of missing.sort()) console.log(`missing: ${JSON.stringify(s)} -> ${JSON.stringify(words[s])}`);
process.exit(missing.length ? 1 : 0);
