import { api, apiPage, fmtTime, h, statusLabel, t, tickCountdowns, typeLabel } from './api.js';
import { data } from './context.js';
import { taskCard } from './tasks.js';

async function count(id, path, query) {
  const node = document.getElementById(id);
  if (!node) return;
  try {
    node.textContent = (await apiPage(path, { query: { ...query, page_size: 1 } })).total;
  } catch {
    node.textContent = '–';
  }
}

count('tile-mine', '/tasks', { scope: 'mine' });
count('tile-open', '/cases', { status: 'open' });
count('tile-overdue', '/cases', { status: 'open', overdue: 'true' });

const list = document.getElementById('home-tasks');
if (list) {
  apiPage('/tasks', { query: { scope: 'mine', page_size: 5 } }).then(({ items }) => {
    list.replaceChildren(...(items.length ? items.map((task) => taskCard(task)) : [h('li', { class: 'muted' }, t('no_tasks'))]));
    tickCountdowns(list);
  }).catch(() => list.replaceChildren(h('li', { class: 'muted' }, t('error'))));
}

const defs = document.getElementById('home-definitions');
if (defs) {
  api('/process-definitions').then((rows) => {
    defs.replaceChildren(h('tbody', {}, rows.map((d) => h('tr', {},
      h('td', {}, h('a', { href: `/console/modeler?key=${encodeURIComponent(d.key)}` },
        t(`type_${d.key}`) !== `type_${d.key}` ? typeLabel(d.key) : data('span', {}, d.name || d.key))),
      h('td', {}, `v${d.latest_version ?? d.version ?? ''}`),
      h('td', {}, fmtTime(d.deployed_at)),
    ))));
  }).catch(() => defs.replaceChildren(h('tbody', {}, h('tr', {}, h('td', { class: 'muted' }, t('error'))))));
}

// Regulators and the 96933 seat: open cases that climbed the escalation ladder, highest level first.
const escalations = document.getElementById('home-escalations');
if (escalations) {
  apiPage('/cases', { query: { status: 'open', page_size: 100 } }).then(({ items }) => {
    const up = items.filter((c) => c.escalation_level >= 2).sort((a, b) => b.escalation_level - a.escalation_level);
    escalations.replaceChildren(h('tbody', {}, up.length ? up.map((c) => h('tr', { 'data-case-id': c.id },
      h('td', {}, data('a', { href: `/console/cases/${c.id}` }, c.number)), h('td', {}, typeLabel(c.case_type)),
      h('td', { class: 'ms-overdue' }, `${t('level')} ${c.escalation_level}`), h('td', {}, statusLabel(c.status)),
      h('td', {}, fmtTime(c.opened_at)))) : h('tr', {}, h('td', { class: 'muted' }, t('no_items')))));
  }).catch(() => escalations.replaceChildren(h('tbody', {}, h('tr', {}, h('td', { class: 'muted' }, t('error'))))));
}
