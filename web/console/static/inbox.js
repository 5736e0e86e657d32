// Task inbox: mine (claimed by me or given to me), to claim (my organisation's, nobody's yet) and all
// of my organisation's; search, filter and sort; live (SSE with polling as a floor).
import { apiPage, h, live, t, tickCountdowns } from './api.js';
import { tickTrapped } from './context.js';
import { taskCard, taskTitle } from './tasks.js';

const list = document.getElementById('task-list');
const QUERIES = {
  mine: { scope: 'mine', claim: 'me' },
  unclaimed: { scope: 'org', claim: 'unclaimed' },
  org: { scope: 'org' },
};
const asked = new URLSearchParams(location.search).get('scope');
let scope = asked in QUERIES ? asked : 'mine';
let chosen = asked in QUERIES; // without a choice, an empty "mine" opens "to claim"
let items = [];
const controls = ['inbox-search', 'inbox-type', 'inbox-priority', 'inbox-sort'].map((id) => document.getElementById(id));
const [search, typeFilter, priorityFilter, sortOrder] = controls;

const RANK = { P1: 1, P2: 2, P3: 3 };
const SORTS = {
  due: (a, b) => (Date.parse(a.due_at || '9999-12-31') - Date.parse(b.due_at || '9999-12-31')) || a.id - b.id,
  priority: (a, b) => (RANK[a.case?.priority] || 9) - (RANK[b.case?.priority] || 9) || SORTS.due(a, b),
  newest: (a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id,
};

function haystack(task) {
  const c = task.context || {};
  return [taskTitle(task), task.title, task.case?.number, c.address, c.district, c.register_code, c.reporter_phone]
    .filter(Boolean).join(' ').toLowerCase();
}

function show() {
  const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = items
    .filter((task) => !typeFilter.value || task.case?.case_type === typeFilter.value)
    .filter((task) => !priorityFilter.value || task.case?.priority === priorityFilter.value)
    .filter((task) => words.every((w) => haystack(task).includes(w)))
    .sort(SORTS[sortOrder.value] || SORTS.due);
  list.replaceChildren(...(shown.length
    ? shown.map((task) => taskCard(task, { onChange: load }))
    : [h('li', { class: 'muted empty' }, t('no_tasks'))]));
  list.dataset.loaded = String(Date.now());
}

async function load() {
  try {
    const counts = await Promise.all(Object.entries(QUERIES).filter(([name]) => name !== scope)
      .map(async ([name, query]) => [name, (await apiPage('/tasks', { query: { ...query, page_size: 1 } })).total]));
    const page = await apiPage('/tasks', { query: { ...QUERIES[scope], page_size: 100 } });
    document.getElementById(`count-${scope}`).textContent = page.total;
    for (const [name, total] of counts) document.getElementById(`count-${name}`).textContent = total;
    const unclaimed = Object.fromEntries(counts).unclaimed;
    if (!chosen && scope === 'mine' && page.total === 0 && unclaimed > 0) {
      chosen = true;
      select('unclaimed');
      return;
    }
    items = page.items;
    show();
  } catch (err) {
    list.replaceChildren(h('li', { class: 'error' }, `${t('error')}: ${err.message}`));
  }
}

function select(name) {
  scope = name;
  for (const tab of document.querySelectorAll('[data-scope]')) {
    tab.classList.toggle('active', tab.dataset.scope === scope);
    tab.setAttribute('aria-selected', String(tab.dataset.scope === scope));
  }
  load();
}

for (const tab of document.querySelectorAll('[data-scope]')) {
  tab.addEventListener('click', () => {
    chosen = true;
    history.replaceState(null, '', `?scope=${tab.dataset.scope}`);
    select(tab.dataset.scope);
  });
}
for (const control of controls) control.addEventListener(control.tagName === 'INPUT' ? 'input' : 'change', show);

select(scope);
tickCountdowns(list);
tickTrapped(list);
const dot = document.getElementById('live-state');
live(load, { everySeconds: 10, onState: (on) => { dot.classList.toggle('on', on); dot.title = on ? t('live') : t('offline'); } });
