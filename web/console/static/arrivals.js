// Rescues whose arrival nobody proved (no tag, no tag code, no position near the elevator), for
// regulators and the rescue centre to follow up.
import { api, errorText, fmtTime, h, live, t } from './api.js';
import { data } from './context.js';

const table = document.getElementById('arrival-table');
const days = document.getElementById('arrival-days');

async function load() {
  try {
    const rows = await api('/arrivals/unproven', { query: { days: days.value } });
    table.querySelector('tbody').replaceChildren(...(rows.length ? rows.map((a) => h('tr', { 'data-case-id': a.case_id },
      h('td', {}, data('a', { href: `/console/cases/${a.case_id}` }, a.number)),
      h('td', {}, fmtTime(a.arrived_at)),
      h('td', {}, t(`proof_${a.proof}`), a.far ? h('span', { class: 'error' }, ` ⚠ ${t('position_far')}`) : null),
      h('td', {}, a.distance_m === null || a.distance_m === undefined ? '—' : `${Math.round(a.distance_m)} m`)))
      : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, t('no_items')))]));
  } catch (err) {
    table.querySelector('tbody').replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'error' }, errorText(err))));
  }
  table.dataset.loaded = '1';
}

days.addEventListener('change', load);
load();
live(load, { everySeconds: 60 });
