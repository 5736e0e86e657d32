// Register conflicts (数据治理): the sources' disagreements in my scope, one field each, with what every
// source says; a regulator picks the value the register keeps and gives a reason.
import { ApiError, api, apiPage, errorText, fmtTime, h, t, toast } from './api.js';

const form = document.getElementById('conflict-filters');
const table = document.getElementById('conflict-table');
const decides = table.dataset.decides === 'true';
const districts = Object.fromEntries(JSON.parse(document.getElementById('district-names').textContent).map((d) => [d.code, d.name]));
let page = 1;

// The register's field names, as the portrait labels them.
const FIELD_LABELS = {
  address: 'Address', district_code: 'District', lat: 'field_lat', lon: 'field_lon', installed_on: 'Installed on',
  use_unit_id: 'Use unit', maintenance_unit_id: 'Maintenance unit', next_inspection_due: 'Next inspection due',
  manufacturer_id: 'Manufacturer', model: 'Model', factory_number: 'Factory number', installer_id: 'Installer',
  use_certificate_no: 'Use certificate', place_category: 'Place category', key_place: 'Key place', floors: 'Floors',
  rated_load_kg: 'Rated load', rated_speed: 'Rated speed', name: 'prop_name', last_inspected_on: 'sync_last_inspected',
  inspection_cycle_months: 'sync_cycle_months',
};

function shown(conflict, value) {
  if (value === null || value === undefined || value === '') return '—';
  if (conflict.names[String(value)]) return conflict.names[String(value)];
  if (conflict.field === 'district_code') return districts[value] || value;
  if (conflict.field === 'key_place') return value ? t('yes') : t('no');
  if (conflict.field === 'place_category') return t(`place_${value}`);
  return String(value);
}

function choices(c) {
  const group = `choice-${c.id}`;
  const options = Object.entries(c.candidates).map(([source, said]) => ({ source, value: said.value, at: said.reported_at }));
  if (!('local' in c.candidates)) options.push({ source: 'register', value: c.register_value });
  const chosen = c.status === 'resolved' ? c.chosen_source : null;
  return h('ul', { class: 'plain' }, options.map((o) => h('li', { 'data-source': o.source },
    decides && c.status === 'open'
      ? h('label', { class: 'check inline' }, h('input', { type: 'radio', name: group, value: o.source }),
        h('span', {}, `${t('sync_source_' + o.source)}: `), h('span', { translate: 'no' }, shown(c, o.value)))
      : h('span', { class: o.source === chosen ? 'status completed' : '' }, `${t('sync_source_' + o.source)}: `,
        h('span', { translate: 'no' }, shown(c, o.value))))));
}

function decision(c) {
  if (c.status !== 'open') {
    const who = c.status === 'resolved' ? [t('sync_decided_by'), ' ', h('span', { translate: 'no' }, c.resolved_by)] : [t('sync_settled')];
    return h('div', {}, h('div', {}, ...who, ' · ', fmtTime(c.resolved_at)),
      c.status === 'resolved' ? h('div', { class: 'muted', translate: 'no' }, c.reason) : null);
  }
  if (!decides) return h('span', { class: 'muted' }, t('sync_open'));
  const reason = h('input', { name: 'reason', maxlength: 500, 'aria-label': t('reason'), placeholder: t('reason') });
  const error = h('div', { class: 'field-error' });
  const button = h('button', { type: 'button', class: 'primary small', 'data-resolve': c.id }, t('sync_resolve'));
  button.addEventListener('click', async () => {
    const picked = table.querySelector(`input[name="choice-${c.id}"]:checked`);
    error.textContent = '';
    if (!picked) { error.textContent = t('sync_pick'); return; }
    if (reason.value.trim().length < 2) { error.textContent = t('reason_required'); return; }
    button.disabled = true;
    try {
      await api(`/register-sync/conflicts/${c.id}/resolve`, { method: 'POST', json: { source: picked.value, reason: reason.value.trim() } });
      toast(t('sync_resolved'));
      await load();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 409 ? t('http_409') : errorText(err);
      button.disabled = false;
    }
  });
  return h('div', { class: 'stack' }, reason, button, error);
}

async function load() {
  const filters = Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
  document.getElementById('conflict-error').textContent = '';
  try {
    const result = await apiPage('/register-sync/conflicts', { query: { ...filters, page, page_size: 25 } });
    document.getElementById('conflict-total').textContent = `(${result.total})`;
    document.getElementById('page-info').textContent = `${t('page')} ${result.page} / ${Math.max(result.pages, 1)}`;
    table.querySelector('tbody').replaceChildren(...(result.items.length ? result.items.map((c) => h('tr', { 'data-conflict-id': c.id, 'data-status': c.status },
      h('td', {}, c.record_type === 'elevator'
        ? h('a', { href: `/console/elevators/${c.record_id}`, translate: 'no' }, c.register_code)
        : h('span', { translate: 'no' }, c.register_code)),
      h('td', { translate: 'no' }, districts[c.district_code] || c.district_code),
      h('td', {}, t(FIELD_LABELS[c.field] || c.field)),
      h('td', {}, choices(c)),
      h('td', {}, fmtTime(c.detected_at)),
      h('td', {}, decision(c))))
      : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('no_items')))]));
    document.getElementById('prev').disabled = result.page <= 1;
    document.getElementById('next').disabled = result.page >= result.pages;
    table.dataset.loaded = 'true';
  } catch (err) { document.getElementById('conflict-error').textContent = errorText(err); }
}

// Admins read a source's export here (the same as `liftcase registry import`), then see its conflicts.
const upload = document.getElementById('sync-import');
upload?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = document.getElementById('sync-import-error');
  const result = document.getElementById('sync-import-result');
  error.textContent = '';
  result.hidden = true;
  if (!upload.elements.file.files.length) { error.textContent = t('sync_choose_file'); return; }
  const body = new FormData();
  body.append('file', upload.elements.file.files[0]);
  try {
    const r = await api('/register-sync/import', { method: 'POST', form: body, query: { source: upload.elements.source.value } });
    result.textContent = [`${t('sync_rows')} ${r.rows}`, `${t('sync_matched')} ${r.records}`, `${t('sync_updated')} ${r.updated}`,
      `${t('sync_unmatched')} ${r.unmatched.length}`, `${t('sync_invalid')} ${r.errors.length}`,
      `${t('sync_conflicts_opened')} ${r.conflicts_opened}`].join(' · ');
    result.hidden = false;
    result.dataset.done = 'true';
    page = 1;
    await load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) {  // the reader's words, then the server's detail as it is
      error.replaceChildren(t('sync_unreadable'), ' ', h('span', { translate: 'no' }, (err.body.errors?.file || []).join(' ')));
    } else {
      error.textContent = errorText(err);
    }
  }
});

form.addEventListener('submit', (e) => { e.preventDefault(); page = 1; load(); });
document.getElementById('prev').addEventListener('click', () => { page -= 1; load(); });
document.getElementById('next').addEventListener('click', () => { page += 1; load(); });
load();
