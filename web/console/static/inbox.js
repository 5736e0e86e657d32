// Task inbox: mine and my organisation's, soonest due first, live (SSE with polling as a floor).
import { apiPage, h, live, t, tickCountdowns } from './api.js';
import { taskCard } from './tasks.js';

const list = document.getElementById('task-list');
let scope = new URLSearchParams(location.search).get('scope') === 'org' ? 'org' : 'mine';

async function load() {
  try {
    const [page, other] = await Promise.all([
      apiPage('/tasks', { query: { scope, page_size: 100 } }),
      apiPage('/tasks', { query: { scope: scope === 'mine' ? 'org' : 'mine', page_size: 1 } }),
    ]);
    document.getElementById(`count-${scope}`).textContent = page.total;
    document.getElementById(`count-${scope === 'mine' ? 'org' : 'mine'}`).textContent = other.total;
    list.replaceChildren(...(page.items.length
      ? page.items.map((task) => taskCard(task, { onChange: load }))
      : [h('li', { class: 'muted empty' }, t('no_tasks'))]));
    list.dataset.loaded = String(Date.now());
  } catch (err) {
    list.replaceChildren(h('li', { class: 'error' }, `${t('error')}: ${err.message}`));
  }
}

for (const tab of document.querySelectorAll('[data-scope]')) {
  tab.classList.toggle('active', tab.dataset.scope === scope);
  tab.addEventListener('click', () => {
    scope = tab.dataset.scope;
    for (const other of document.querySelectorAll('[data-scope]')) other.classList.toggle('active', other === tab);
    history.replaceState(null, '', `?scope=${scope}`);
    load();
  });
}

load();
tickCountdowns(list);
const dot = document.getElementById('live-state');
live(load, { everySeconds: 10, onState: (on) => { dot.classList.toggle('on', on); dot.title = on ? t('live') : t('offline'); } });
