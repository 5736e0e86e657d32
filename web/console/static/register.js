// Special equipment register: the seven classes' records in my scope, filtered, with the per-class
// counts and expiries of /equipment/figures (elevators first).
import { api, apiPage, errorText, h, lang, me, now, t } from './api.js';
import { data } from './context.js';

const form = document.getElementById('eq-filters');
const districts = Object.fromEntries(JSON.parse(document.getElementById('district-names').textContent).map((d) => [d.code, d.name]));
const names = {};
const regulator = Boolean(me?.roles?.includes('regulator')); // may open a case by hand
let page = 1;

const label = (c) => (lang.startsWith('zh') ? c.name_zh : c.name_en);
const today = new Date(now()).toISOString().slice(0, 10);

async function loadClasses() {
  const classes = await api('/equipment-classes');
  const select = document.getElementById('eq-class');
  for (const c of classes) {
    names[c.key] = label(c);
    select.append(h('option', { value: c.key }, label(c)));
  }
  const figures = await api('/equipment/figures');
  document.querySelector('#eq-figures tbody').replaceChildren(...figures.classes.map((r) => h('tr', {},
    h('td', {}, label(r)), h('td', {}, r.total), h('td', { class: r.expired ? 'status failed' : '' }, r.expired), h('td', {}, r.due_30))));
}

async function load() {
  const filters = Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
  document.getElementById('eq-error').textContent = '';
  try {
    const result = await apiPage('/equipment', { query: { ...filters, page, page_size: 25 } });
    document.getElementById('eq-total').textContent = `(${result.total})`;
    document.getElementById('page-info').textContent = `${t('page')} ${result.page} / ${Math.max(result.pages, 1)}`;
    document.querySelector('#eq-table tbody').replaceChildren(...(result.items.length ? result.items.map((e) => h('tr', { 'data-equipment-id': e.id },
      data('td', {}, e.register_code), h('td', {}, names[e.equipment_class] || e.equipment_class), data('td', {}, e.name),
      data('td', {}, e.address), data('td', {}, districts[e.district_code] || e.district_code), h('td', {}, t(`eq_${e.status}`)),
      h('td', { class: e.next_inspection_due && e.next_inspection_due < today && e.status !== 'retired' ? 'status failed' : '' }, e.next_inspection_due || '—'),
      regulator ? h('td', {}, e.status === 'retired' ? '' : h('a', { href: `/console/cases/new?equipment_id=${e.id}`, 'data-open-case': e.id }, t('open_case'))) : null))
      : [h('tr', {}, h('td', { colspan: regulator ? 8 : 7, class: 'muted' }, t('no_items')))]));
    document.getElementById('prev').disabled = result.page <= 1;
    document.getElementById('next').disabled = result.page >= result.pages;
  } catch (err) { document.getElementById('eq-error').textContent = errorText(err); }
}

form.addEventListener('submit', (e) => { e.preventDefault(); page = 1; load(); });
document.getElementById('prev').addEventListener('click', () => { page -= 1; load(); });
document.getElementById('next').addEventListener('click', () => { page += 1; load(); });
// The rows name their class, so they wait for the class names (else the raw key showed, at random).
loadClasses().catch((err) => { document.getElementById('eq-error').textContent = errorText(err); }).then(load);
