// Special-equipment screen: per class (elevators first) the register's counts and expiries, a map
// layer per class (ticked on or off), the expired and due-soon pieces per district for the ticked
// classes, IoT coverage of the elevators. Every counter comes from one GET /equipment/figures, so the
// columns, the district rows and their sums agree. Updates live.
import { api, apiPage, fmtTime, h, lang, live, t } from './api.js';
import { cityMap } from './citymap.js';
import { data } from './context.js';

const screen = document.getElementById('equipment-screen');
const districts = JSON.parse(document.getElementById('districts').textContent);
const names = Object.fromEntries(districts.map((d) => [d.code, d.name]));
const map = cityMap(document.getElementById('map'), districts, screen.dataset.tileUrl);
const COLORS = {
  elevator: '#40a9ff', boiler: '#ff9c6e', pressure_vessel: '#ffd666', pressure_piping: '#95de64', crane: '#5cdbd3',
  ropeway: '#b37feb', amusement_ride: '#ff85c0', site_vehicle: '#d3adf7',
};
const shown = new Set(Object.keys(COLORS)); // classes ticked on
const layers = {};
let latest = null;

const label = (row) => (lang.startsWith('zh') ? row.name_zh : row.name_en);
const pct = (ratio) => (ratio === null || ratio === undefined ? '—' : `${(ratio * 100).toFixed(1)}%`);

function figure(text, value, alert = false) {
  return h('div', { class: `figure${alert ? ' alert' : ''}` }, h('strong', {}, value ?? '—'), h('span', {}, text));
}

function sumRow(cells) {
  return h('tr', { class: 'sum' }, cells.map((v, i) => h(i ? 'td' : 'th', {}, v)));
}

function layerOf(key) {
  layers[key] ||= map.layer();
  return layers[key];
}

function toggle(key, on) {
  if (on) shown.add(key); else shown.delete(key);
  layerOf(key).toggle(on);
  drawDistricts();
  screen.dataset.shown = [...shown].sort().join(' ');
}

function drawClasses(figures) {
  const rows = figures.classes;
  document.querySelector('#by-class tbody').replaceChildren(...rows.map((r) => {
    const box = h('input', { type: 'checkbox', 'data-class': r.equipment_class, 'aria-label': label(r) });
    box.checked = shown.has(r.equipment_class);
    box.addEventListener('change', () => toggle(r.equipment_class, box.checked));
    return h('tr', { 'data-class': r.equipment_class },
      h('td', {}, h('label', { class: 'class-toggle' }, box,
        h('span', { class: 'swatch', style: `background:${COLORS[r.equipment_class] || '#ccc'}` }), label(r))),
      h('td', {}, r.total), h('td', {}, r.stopped), h('td', { class: r.expired ? 'alert' : '' }, r.expired),
      h('td', {}, r.due_30));
  }));
  const sum = (k) => rows.reduce((n, r) => n + r[k], 0);
  document.querySelector('#by-class tfoot').replaceChildren(
    sumRow([t('total'), sum('total'), sum('stopped'), sum('expired'), sum('due_30')]));
}

function drawDistricts() {
  if (!latest) return;
  const byDistrict = {};
  for (const r of latest.by_district.filter((row) => shown.has(row.equipment_class))) {
    const row = byDistrict[r.district_code] ||= { expired: 0, due_30: 0, total: 0 };
    row.expired += r.expired; row.due_30 += r.due_30; row.total += r.total;
  }
  const rows = Object.entries(byDistrict).sort(([a], [b]) => a.localeCompare(b));
  document.querySelector('#by-district tbody').replaceChildren(...(rows.length
    ? rows.map(([code, r]) => h('tr', { 'data-district': code }, data('td', {}, names[code] || code),
      h('td', { class: r.expired ? 'alert' : '' }, r.expired), h('td', {}, r.due_30), h('td', {}, r.total)))
    : [h('tr', {}, h('td', { class: 'muted', colspan: 4 }, t('no_items')))]));
  const sum = (k) => rows.reduce((n, [, r]) => n + r[k], 0);
  document.querySelector('#by-district tfoot').replaceChildren(sumRow([t('total'), sum('expired'), sum('due_30'), sum('total')]));
  const classes = latest.classes.filter((r) => shown.has(r.equipment_class)).map(label);
  document.getElementById('district-classes').replaceChildren(classes.join(' · ') || t('no_items'));
}

function drawCoverage(c) {
  document.getElementById('fig-coverage').replaceChildren(
    figure(t('cov_all'), pct(c.boxes_per_elevator)), figure(t('cov_key'), pct(c.key_places.ratio)));
  document.querySelector('#coverage tbody').replaceChildren(...c.by_place_category.map((r) => h('tr', { 'data-place': r.place_category || '' },
    h('td', {}, r.place_category ? t(`place_${r.place_category}`) : t('not_recorded'), r.key_place ? ' ★' : ''),
    h('td', {}, r.elevators), h('td', {}, r.with_box), h('td', {}, pct(r.ratio)))));
  document.querySelector('#coverage tfoot').replaceChildren(sumRow([t('total'), c.elevators, c.with_box, pct(c.boxes_per_elevator)]));
}

async function drawMap(figures) {
  const [points, cases] = await Promise.all([api('/equipment/map'), api('/dashboard/map')]);
  const byClass = {};
  for (const p of points) (byClass[p.equipment_class] ||= []).push(p);
  const classNames = Object.fromEntries(figures.classes.map((r) => [r.equipment_class, label(r)]));
  for (const key of Object.keys(COLORS).filter((k) => k !== 'elevator')) {
    layerOf(key).show(byClass[key] || [], {
      color: COLORS[key],
      popup: (p) => h('div', {}, h('strong', {}, classNames[key]), h('br'), data('span', {}, p.name), h('br'),
        `${t('Next inspection due')}: ${p.next_inspection_due || '—'}`, h('br'),
        h('a', { href: `/console/cases/new?equipment_id=${p.id}` }, t('open_case'))),
    });
  }
  // The elevators' layer: their expiry and rectification cases (other equipment's layers show the register).
  const lifts = cases.filter((c) => c.elevator_id && (c.case_type === 'expiry' || c.case_type === 'rectification') && c.lat != null);
  layerOf('elevator').show(lifts, {
    color: COLORS.elevator,
    popup: (c) => h('div', {}, h('a', { href: `/console/cases/${c.id}` }, c.number), h('br'), data('span', {}, c.address || '')),
  });
  for (const key of Object.keys(COLORS)) layerOf(key).toggle(shown.has(key));
  document.getElementById('map').dataset.points = String(points.length + lifts.length);
}

async function overview() {
  const [figures, expiry, rect] = await Promise.all([
    api('/equipment/figures'),
    apiPage('/cases', { query: { type: 'expiry', status: 'open', page_size: 20 } }),
    apiPage('/cases', { query: { type: 'rectification', status: 'open', page_size: 1 } }),
  ]);
  latest = figures;
  drawClasses(figures);
  drawDistricts();
  drawCoverage(figures.coverage);
  document.getElementById('fig-cases').replaceChildren(
    figure(t('type_expiry'), expiry.total, expiry.total > 0), figure(t('type_rectification'), rect.total));
  document.getElementById('expiry-feed').replaceChildren(...(expiry.items.length ? expiry.items.map((c) => h('li', {},
    h('span', { class: 'muted' }, fmtTime(c.opened_at)), ' ', data('a', { href: `/console/cases/${c.id}` }, c.number), ' ',
    data('span', {}, names[c.district_code] || ''))) : [h('li', { class: 'muted' }, t('no_items'))]));
  await drawMap(figures);
  screen.dataset.shown = [...shown].sort().join(' ');
  screen.dataset.updated = String(Date.now());
}

overview();
live(overview, { everySeconds: 30 });
