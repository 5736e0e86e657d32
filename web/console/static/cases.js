// Case list: filters in the URL (shareable), saved filters per user, CSV/XLSX export of the same filters.
import { ApiError, UTC_OFFSET, api, apiPage, errorText, fmtTime, h, statusLabel, t, toast, typeLabel } from './api.js';
import { data } from './context.js';

const form = document.getElementById('case-filters');
const districts = Object.fromEntries(JSON.parse(document.getElementById('district-names').textContent).map((d) => [d.code, d.name]));
const KEYS = ['type', 'status', 'district', 'equipment_class', 'elevator_id', 'equipment_id', 'from', 'to', 'overdue'];
let page = 1;

// Dates are city days: from = that midnight, to = the next day's midnight (exclusive).
function dayStart(date, plusDays = 0) {
  const d = new Date(`${date}T00:00:00${UTC_OFFSET}`);
  d.setUTCDate(d.getUTCDate() + plusDays);
  return d.toISOString().replace('.000Z', '+00:00');
}

function filtersFromForm() {
  const data = Object.fromEntries(new FormData(form));
  const out = {};
  for (const k of KEYS) if (data[k]) out[k] = data[k];
  return out;
}

function apiQuery(filters) {
  const q = { ...filters };
  if (q.from) q.from = dayStart(q.from);
  if (q.to) q.to = dayStart(q.to, 1);
  return q;
}

function setForm(filters) {
  for (const k of KEYS) {
    const input = form.elements[k];
    if (input.type === 'checkbox') input.checked = filters[k] === 'true' || filters[k] === true;
    else input.value = filters[k] ?? '';
  }
}

function exportLinks(filters) {
  for (const format of ['csv', 'xlsx']) {
    const params = new URLSearchParams({ ...apiQuery(filters), format });
    document.getElementById(`export-${format}`).href = `/api/v1/reports/exports/cases?${params}`;
  }
}

// What the case is about: its elevator (a link to its page), or another piece of special equipment.
function subject(c) {
  if (c.elevator_id) return h('a', { href: `/console/elevators/${c.elevator_id}` }, `${t('elevator')} #${c.elevator_id}`);
  if (c.equipment_id) return `${t('ctx_equipment')} #${c.equipment_id}`;
  return '—';
}

async function load() {
  const filters = filtersFromForm();
  history.replaceState(null, '', `?${new URLSearchParams(filters)}${page > 1 ? `&page=${page}` : ''}`);
  exportLinks(filters);
  document.getElementById('filter-error').textContent = '';
  try {
    const result = await apiPage('/cases', { query: { ...apiQuery(filters), page, page_size: 25 } });
    document.getElementById('case-total').textContent = `(${result.total})`;
    document.getElementById('page-info').textContent = `${t('page')} ${result.page} / ${Math.max(result.pages, 1)}`;
    document.querySelector('#case-table tbody').replaceChildren(...(result.items.length ? result.items.map((c) => h('tr', { 'data-case-id': c.id },
      h('td', {}, data('a', { href: `/console/cases/${c.id}` }, c.number)),
      h('td', {}, typeLabel(c.case_type)),
      h('td', {}, c.priority ? h('span', { class: `prio ${c.priority}` }, c.priority) : '—'),
      h('td', { class: `status ${c.status}` }, statusLabel(c.status)),
      h('td', {}, c.escalation_level),
      data('td', {}, districts[c.district_code] || c.district_code || '—'),
      h('td', {}, subject(c)),
      h('td', {}, fmtTime(c.opened_at)))) : [h('tr', {}, h('td', { colspan: 8, class: 'muted' }, t('no_items')))]));
    document.getElementById('prev').disabled = result.page <= 1;
    document.getElementById('next').disabled = result.page >= result.pages;
  } catch (err) {
    document.getElementById('filter-error').textContent = err instanceof ApiError && err.body.errors
      ? Object.entries(err.body.errors).map(([k, v]) => `${k}: ${[v].flat().join(' ')}`).join('; ') : errorText(err);
  }
}

async function loadSaved() {
  const box = document.getElementById('saved-filters');
  try {
    const rows = await api('/saved-filters');
    box.replaceChildren(...rows.map((f) => h('span', { class: 'saved-filter', 'data-filter-id': f.id },
      h('button', { type: 'button', class: 'link', onclick: () => { setForm(f.query); page = 1; load(); } }, f.name),
      h('button', { type: 'button', class: 'link remove', title: '×', onclick: async () => {
        await api(`/saved-filters/${f.id}`, { method: 'DELETE' });
        loadSaved();
      } }, '×'))));
    if (!rows.length) box.replaceChildren(h('span', { class: 'muted' }, t('no_items')));
  } catch (err) { box.textContent = errorText(err); }
}

form.addEventListener('submit', (e) => { e.preventDefault(); page = 1; load(); });
document.getElementById('prev').addEventListener('click', () => { page -= 1; load(); });
document.getElementById('next').addEventListener('click', () => { page += 1; load(); });
document.getElementById('save-filter').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = e.target.elements.name.value.trim();
  if (!name) return;
  const query = filtersFromForm();
  if (query.overdue) query.overdue = true;
  if (query.elevator_id) query.elevator_id = Number(query.elevator_id);
  if (query.equipment_id) query.equipment_id = Number(query.equipment_id);
  try {
    await api('/saved-filters', { method: 'POST', json: { name, query } });
    e.target.reset();
    toast(t('saved'), 'ok');
    loadSaved();
  } catch (err) { toast(errorText(err), 'error'); }
});

const params = new URLSearchParams(location.search);
setForm(Object.fromEntries(params));
page = Number(params.get('page')) || 1;
load();
loadSaved();
