// 救援调度大屏: open cases on the city map, counts by type, today's response / arrival / release
// times, the 30-minute arrival rate, the maintenance-unit ranking and a live warning feed.
import { api, apiPage, fmtTime, h, live, now, t, typeLabel } from './api.js';
import { cityMap } from './citymap.js';
import { data, tickTrapped, trappedFor } from './context.js';

function word(kind, code) {
  const key = `${kind}_${code}`;
  return t(key) !== key ? t(key) : data('span', {}, code);
}

const root = document.getElementById('dispatch-screen');
const districts = JSON.parse(document.getElementById('districts').textContent);
const map = cityMap(document.getElementById('map'), districts, root.dataset.tileUrl);
document.getElementById('map-mode').textContent = root.dataset.tileUrl ? '' : `(${t('offline')})`;
const TYPES = ['rescue', 'warning', 'rectification', 'expiry', 'complaint'];

function figure(label, value, { alert = false, id } = {}) {
  return h('div', { class: `figure${alert ? ' alert' : ''}`, id }, h('strong', {}, value ?? '—'), h('span', {}, label));
}

async function summary() {
  const s = await api('/dashboard/summary');
  document.getElementById('fig-open').replaceChildren(
    figure(t('total'), s.open_total, { id: 'fig-open-total' }),
    figure(t('ms_overdue'), s.overdue, { alert: s.overdue > 0 }),
    ...TYPES.map((k) => figure(typeLabel(k), s.open_by_type?.[k] ?? 0, { alert: k === 'rescue' && s.open_by_type?.[k] > 0 })));
  document.getElementById('fig-today').replaceChildren(...TYPES.map((k) => figure(typeLabel(k), s.today_by_type?.[k] ?? 0)));
  const td = s.today || {};
  const rate = td.arrival_30min_rate;
  document.getElementById('fig-times').replaceChildren(
    figure(t('Response'), td.response?.median_min), figure(t('Arrival'), td.arrival?.median_min),
    figure(t('Rescue'), td.release?.median_min),
    figure(t('30-min arrival rate'), rate === null || rate === undefined ? '—' : `${Math.round(rate * 100)}%`, { id: 'fig-rate' }));
  document.querySelector('#ranking tbody').replaceChildren(...(s.ranking || []).map((r, i) => h('tr', {},
    h('td', {}, i + 1), data('td', {}, r.name), h('td', {}, `${r.median_arrival_min}′`), h('td', {}, `${Math.round(r.arrival_30min_rate * 100)}%`),
    h('td', { class: 'muted' }, r.rescues),
    h('td', { class: 'muted', 'data-on-time': r.maintenance_on_time_rate ?? '' }, r.maintenance_on_time_rate === null || r.maintenance_on_time_rate === undefined
      ? '' : `${t('maint_on_time')} ${Math.round(r.maintenance_on_time_rate * 100)}%`))));
  if (!(s.ranking || []).length) document.querySelector('#ranking tbody').replaceChildren(h('tr', {}, h('td', { class: 'muted' }, t('no_items'))));
}

async function points() {
  map.show(await api('/dashboard/map'));
}

async function feed() {
  let items;
  try {
    items = await api('/dashboard/warnings', { query: { limit: 30 } });
  } catch {
    items = (await apiPage('/cases', { query: { type: 'warning', page_size: 30 } })).items
      .map((c) => ({ case_id: c.id, received_at: c.opened_at, kind: c.priority, address: '' }));
  }
  document.getElementById('feed').replaceChildren(...(items.length ? items.map((w) => h('li', { 'data-case-id': w.case_id || '' },
    h('span', { class: 'muted' }, fmtTime(w.received_at).slice(11)), ' ', h('strong', { 'data-kind': w.kind || '' }, w.kind ? word('signal', w.kind) : ''), ' ',
    w.case_id ? data('a', { href: `/console/cases/${w.case_id}` }, w.case_number || `#${w.case_id}`) : '', w.joined ? ` (${t('joined')})` : '',
    ' ', data('span', {}, w.address || ''))) : [h('li', { class: 'muted' }, t('no_items'))]));
}

// Every rescue under way, the longest trapped first: where, how many, level, unit, who comes and when.
async function rescues() {
  const items = await api('/dashboard/rescues');
  document.getElementById('rescue-count').textContent = items.length;
  document.getElementById('rescues').replaceChildren(...(items.length ? items.map((r) => {
    const c = r.context || {};
    const state = r.milestones.includes('on_site') ? t('milestone_on_site')
      : c.eta_at ? `${t('eta')} ${fmtTime(c.eta_at).slice(11)}` : r.milestones.includes('accepted') ? t('milestone_accepted')
        : r.milestones.includes('dispatched') ? t('milestone_dispatched') : t('milestone_reported');
    return h('li', { class: `rescue level-${r.escalation_level}`, 'data-case-id': r.id },
      h('div', { class: 'rescue-head' }, data('a', { href: `/console/cases/${r.id}` }, r.number), ' ',
        trappedFor(c), ' ', h('span', { class: 'level' }, `${t('level')} ${r.escalation_level}`)),
      h('div', {}, data('span', { class: 'address' }, c.address || ''), c.district ? [' · ', data('span', {}, c.district)] : null),
      h('div', { class: 'muted' }, `${t('trapped')} ${c.trapped_count ?? '—'}`, c.injured ? [' · ', h('span', { class: 'injured' }, t('injured'))] : null,
        ' · ', data('span', {}, r.maintenance_unit || '—'),
        c.technician ? [' · ', data('span', {}, c.technician)] : null, ' · ', h('strong', { class: 'eta-state' }, state)));
  }) : [h('li', { class: 'muted' }, t('no_items'))]));
}

async function refresh() {
  await Promise.allSettled([summary(), points(), feed(), rescues()]);
  root.dataset.updated = String(Date.now());
}

setInterval(() => { document.getElementById('screen-clock').textContent = fmtTime(new Date(now()).toISOString()); }, 1000);
refresh();
tickTrapped(root);
live(refresh, { everySeconds: 10 });
