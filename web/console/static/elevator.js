// 电梯画像: the elevator's facts, QR sign, risk score and factors, warnings over time, its cases,
// maintenance and inspection history.
import { ApiError, api, apiPage, errorText, fill, fmtDate, fmtTime, h, now, statusLabel, t, typeLabel } from './api.js';
import { data, navigationLinks } from './context.js';

const root = document.getElementById('elevator');
const id = Number(root.dataset.elevatorId);
const WEEK = 7 * 86400 * 1000;
const districtNames = Object.fromEntries(JSON.parse(document.getElementById('districts').textContent).map((d) => [d.code, d.name]));

function facts(e) {
  const rows = [
    ['Register code', data('span', {}, e.register_code)], ['Address', data('span', {}, e.address)],
    ['District', data('span', {}, districtNames[e.district_code] || e.district_code)],
    ['Kind', t(`elevator_kind_${e.kind}`) !== `elevator_kind_${e.kind}` ? t(`elevator_kind_${e.kind}`) : data('span', {}, e.kind)],
    ['Floors', e.floors], ['Installed on', e.installed_on || '—'], ['Use unit', data('span', {}, e.use_unit || '—')],
    ['Maintenance unit', data('span', {}, `${e.maintenance_unit || '—'}`),
      e.maintenance_phone ? [' · ', data('a', { href: `tel:${e.maintenance_phone}` }, e.maintenance_phone)] : null],
    ['Last maintenance', fmtTime(e.last_maintenance_at)], ['Next inspection due', e.next_inspection_due || '—'],
    ['IoT device', e.device_id ? data('span', {}, e.device_id) : '—'],
    ['Position', navigationLinks(e.lat, e.lon, e.address) || '—'],
    ['Cases (open / total)', `${e.open_cases ?? '—'} / ${e.cases_total ?? '—'}`],
    // Names and numbers from the register are data: shown as registered, in any script.
    ['Manufacturer', data('span', {}, e.manufacturer || '—')], ['Model', data('span', {}, e.model || '—')],
    ['Factory number', data('span', {}, e.factory_number || '—')],
    ['Installer', data('span', {}, e.installer || '—')], ['Use certificate', data('span', {}, e.use_certificate_no || '—')],
    ['Place category', `${e.place_category ? t(`place_${e.place_category}`) : '—'}${e.key_place ? ' · ' + t('Key place') : ''}`],
    ['Rated load', e.rated_load_kg ? `${e.rated_load_kg} kg` : '—'], ['Rated speed', e.rated_speed ? `${e.rated_speed} m/s` : '—'],
  ];
  return rows.map(([k, ...v]) => h('tr', {}, h('th', {}, t(k)), h('td', {}, ...v)));
}

// Weekly counts as a small SVG bar chart (no chart library needed for twelve bars).
function weeklyChart(cases) {
  const end = now();
  const counts = Array.from({ length: 12 }, () => 0);
  for (const c of cases) {
    const age = Math.floor((end - Date.parse(c.opened_at)) / WEEK);
    if (age >= 0 && age < 12) counts[11 - age] += 1;
  }
  const max = Math.max(1, ...counts);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 240 80');
  svg.setAttribute('class', 'bars');
  svg.dataset.total = String(counts.reduce((a, b) => a + b, 0));
  counts.forEach((n, i) => {
    const r = document.createElementNS(ns, 'rect');
    const height = (n / max) * 60;
    Object.entries({ x: i * 20 + 2, y: 70 - height, width: 16, height, rx: 2 }).forEach(([k, v]) => r.setAttribute(k, v));
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${n}`;
    r.append(title);
    svg.append(r);
  });
  return svg;
}

function listOr(items) {
  return items.length ? h('ul', {}, items) : h('p', { class: 'muted' }, t('no_items'));
}

async function risk() {
  const box = document.getElementById('el-risk');
  try {
    const r = await api(`/elevators/${id}/risk`);
    fill(box, h('div', { class: `risk-score ${r.level || ''}`, 'data-score': r.score },
      h('strong', {}, Math.round(r.score ?? 0)), ' / 100 ', h('span', { class: 'pill' }, t(`risk_${r.level}`))),
    h('div', { class: 'muted' }, `${fmtTime(r.scored_at)} · ${r.model_version || ''}`),
    h('ul', { class: 'factors' }, (r.factors || []).map((f) => h('li', {}, h('strong', {}, f.name || f.factor), `: ${f.value ?? ''}`,
      f.contribution !== undefined && f.contribution !== null ? ` (${f.contribution > 0 ? '+' : ''}${Number(f.contribution).toFixed(1)})` : ''))));
    box.classList.remove('muted');
  } catch (err) {
    box.textContent = err instanceof ApiError && err.status === 404 ? t('no_items') : errorText(err);
  }
}

async function load() {
  let e;
  try {
    e = await api(`/elevators/${id}`);
  } catch (err) {
    document.getElementById('el-code').textContent = errorText(err);
    return;
  }
  document.getElementById('el-code').textContent = e.register_code;
  document.getElementById('el-code').translate = false;
  fill(document.getElementById('el-flags'), e.stop_use ? h('span', { class: 'prio P1' }, t('stop_use')) : null);
  document.querySelector('#el-facts tbody').replaceChildren(...facts(e));
  document.getElementById('el-qr').src = `/r/${e.qr_code}/qr.svg`;
  const link = document.getElementById('el-qr-link');
  link.href = `/r/${e.qr_code}`;
  link.textContent = `/r/${e.qr_code}`;
  link.translate = false;

  const [open, all, warnings] = await Promise.all([
    apiPage('/cases', { query: { elevator_id: id, status: 'open', page_size: 50 } }),
    apiPage('/cases', { query: { elevator_id: id, page_size: 100 } }),
    apiPage('/cases', { query: { elevator_id: id, type: 'warning', page_size: 100 } }),
  ]);
  document.getElementById('el-open').replaceChildren(...(open.items.length ? open.items.map((c) => h('li', { class: 'card' },
    data('a', { href: `/console/cases/${c.id}` }, c.number), ' ', typeLabel(c.case_type), ' ', c.priority ? h('span', { class: `prio ${c.priority}` }, c.priority) : '',
    ' ', h('span', { class: 'muted' }, fmtTime(c.opened_at)))) : [h('li', { class: 'muted' }, t('no_items'))]));
  const past = all.items.filter((c) => c.status !== 'open');
  document.querySelector('#el-past tbody').replaceChildren(...(past.length ? past.map((c) => h('tr', {},
    h('td', {}, data('a', { href: `/console/cases/${c.id}` }, c.number)), h('td', {}, typeLabel(c.case_type)),
    h('td', {}, statusLabel(c.status)), h('td', {}, fmtTime(c.opened_at)), h('td', {}, fmtTime(c.closed_at)),
    h('td', {}, t(`close_reason_${c.close_reason}`) !== `close_reason_${c.close_reason}` ? t(`close_reason_${c.close_reason}`) : data('span', {}, c.close_reason || '')))) : [h('tr', {}, h('td', { class: 'muted' }, t('no_items')))]));
  fill(document.getElementById('el-warnings'), weeklyChart(warnings.items), h('div', { class: 'muted' }, `${warnings.total} ${t('total')}`));

  // A visit shows whether it was on time, how presence was proven and the use unit's answer.
  const maintenanceItem = (m) => h('li', { 'data-visit-id': m.visit_id, 'data-confirmation': m.confirmation },
    `${m.on || fmtDate(m.at)} · `, m.record_no ? [data('span', {}, m.record_no), ' · '] : null,
    data('span', {}, m.technician || ''), m.case ? [' · ', data('span', {}, m.case)] : null,
    m.visit_id ? ` · ${t(m.on_time ? 'on_time' : 'late')} · ${t(`proof_${m.proof}`)} · ${t(`confirmation_${m.confirmation}`)}` : null,
    m.dispute_reason ? [': ', data('span', {}, m.dispute_reason)] : null);
  const history = document.getElementById('el-history');
  try {
    const hist = await api(`/elevators/${id}/history`);
    fill(history,
      h('p', {}, `${t('Last maintenance')}: ${fmtTime(e.last_maintenance_at)} · ${t('Next inspection due')}: ${e.next_inspection_due || '—'}`),
      h('h3', {}, t('Maintenance')), listOr((hist.maintenance || []).map(maintenanceItem)),
      h('h3', {}, t('Inspections')), listOr((hist.inspections || []).map((i) => h('li', {}, `${i.on || fmtDate(i.at)} · ${i.result || ''} · ${i.report_no || ''}`, i.case ? ` · ${i.case}` : ''))));
  } catch {
    const related = all.items.filter((c) => ['expiry', 'rectification'].includes(c.case_type));
    fill(history,
      h('p', {}, `${t('Last maintenance')}: ${fmtTime(e.last_maintenance_at)} · ${t('Next inspection due')}: ${e.next_inspection_due || '—'}`),
      h('ul', {}, related.map((c) => h('li', {}, h('a', { href: `/console/cases/${c.id}` }, c.number), ` ${typeLabel(c.case_type)} · ${statusLabel(c.status)} · ${fmtTime(c.opened_at)}`))));
  }
}

load();
risk();
