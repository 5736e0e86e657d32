// Special-equipment screen: the inspection-expiry overview (expired, due within 7/30/60 days, stop-use),
// open rectification and expiry cases by district and on the map. Updates live.
import { api, apiPage, fmtTime, h, live, t } from './api.js';
import { cityMap } from './citymap.js';
import { data } from './context.js';

const districts = JSON.parse(document.getElementById('districts').textContent);
const names = Object.fromEntries(districts.map((d) => [d.code, d.name]));
const map = cityMap(document.getElementById('map'), districts, document.getElementById('equipment-screen').dataset.tileUrl);

function figure(label, value, alert = false) {
  return h('div', { class: `figure${alert ? ' alert' : ''}` }, h('strong', {}, value ?? '—'), h('span', {}, label));
}

async function overview() {
  const [expiry, rect] = await Promise.all([
    apiPage('/cases', { query: { type: 'expiry', status: 'open', page_size: 100 } }),
    apiPage('/cases', { query: { type: 'rectification', status: 'open', page_size: 100 } }),
  ]);
  let o = null;
  try { o = await api('/dashboard/inspection'); } catch { o = null; }
  document.getElementById('fig-expiry').replaceChildren(
    figure(t('expired'), o?.expired, Boolean(o?.expired)), figure(t('due in 7 days'), o?.due_7),
    figure(t('due in 30 days'), o?.due_30), figure(t('due in 60 days'), o?.due_60), figure(t('stop_use'), o?.stop_use, Boolean(o?.stop_use)));
  document.getElementById('fig-cases').replaceChildren(
    figure(t('type_expiry'), expiry.total, expiry.total > 0), figure(t('type_rectification'), rect.total));
  const byDistrict = {};
  for (const c of [...expiry.items, ...rect.items]) {
    const row = byDistrict[c.district_code] ||= { expiry: 0, rectification: 0 };
    row[c.case_type] += 1;
  }
  const rows = o?.by_district?.length
    ? o.by_district.map((r) => [names[r.district_code] || r.district_code, r.expired, r.due_30, r.total])
    : Object.entries(byDistrict).map(([code, r]) => [names[code] || code, r.expiry, r.rectification, '']);
  document.querySelector('#by-district tbody').replaceChildren(...(rows.length
    ? rows.map(([name, ...r]) => h('tr', {}, data('td', {}, name), r.map((v) => h('td', {}, v))))
    : [h('tr', {}, h('td', { class: 'muted' }, t('no_items')))]));
  document.getElementById('expiry-feed').replaceChildren(...(expiry.items.length ? expiry.items.slice(0, 20).map((c) => h('li', {},
    h('span', { class: 'muted' }, fmtTime(c.opened_at)), ' ', data('a', { href: `/console/cases/${c.id}` }, c.number), ' ',
    data('span', {}, names[c.district_code] || ''))) : [h('li', { class: 'muted' }, t('no_items'))]));
  const points = await api('/dashboard/map');
  map.show(points.filter((p) => p.case_type === 'expiry' || p.case_type === 'rectification'));
  document.getElementById('equipment-screen').dataset.updated = String(Date.now());
}

overview();
live(overview, { everySeconds: 30 });
