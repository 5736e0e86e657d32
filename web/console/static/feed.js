// Feed subscriptions (admins): the endpoints other platforms gave us, what each receives, and how its
// deliveries stand (cursor, what it is still owed, since when, the last failure). A new secret is made
// here, sent once, and shown once: the server never shows it again.
import { ApiError, api, errorText, fmtTime, h, t, toast } from './api.js';

const table = document.getElementById('sub-table');
const form = document.getElementById('sub-form');
const districts = Object.fromEntries(JSON.parse(document.getElementById('district-names').textContent).map((d) => [d.code, d.name]));
const kindNames = { case: t('sync_all_cases'), register: t('sync_register_changes'), ...JSON.parse(document.getElementById('kind-names').textContent) };
let subscriptions = [];

function newSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Labels of the kinds or districts chosen; codes without a label, and place names, are data.
function names(list, table, all, data = false) {
  if (!list.length) return h('span', { class: 'muted' }, all);
  return list.map((k) => h('span', { class: 'tag', translate: data || !table[k] ? 'no' : null }, table[k] || k, ' '));
}

function row(s) {
  const b = s.backlog;
  const pause = h('button', { type: 'button', class: 'small', 'data-toggle': s.id }, s.active ? t('feed_pause') : t('feed_resume'));
  pause.addEventListener('click', () => save(s.id, { active: !s.active }, s.active ? t('feed_paused') : t('feed_resumed')));
  const edit = h('button', { type: 'button', class: 'small', 'data-edit': s.id }, t('feed_edit'));
  edit.addEventListener('click', () => openForm(s));
  return h('tr', { 'data-subscription-id': s.id, 'data-active': String(s.active) },
    h('td', { translate: 'no' }, s.name),
    h('td', { translate: 'no', class: 'wrap' }, s.url),
    h('td', {}, names(s.kinds, kindNames, t('feed_all_kinds'))),
    h('td', {}, names(s.districts, districts, t('feed_all_districts'), true)),
    h('td', {}, h('span', { class: s.active ? 'status open' : 'status cancelled' }, s.active ? t('feed_active') : t('feed_paused_state'))),
    h('td', { 'data-cursor': b.cursor }, `${b.cursor} / ${b.head}`),
    h('td', { 'data-pending': b.pending, class: b.pending ? 'status failed' : '' }, String(b.pending)),
    h('td', {}, b.oldest_pending_at ? fmtTime(b.oldest_pending_at) : '—'),
    h('td', { class: 'wrap' }, b.last_error
      ? [h('span', { translate: 'no' }, b.last_error), ` (${t('feed_attempts')} ${b.last_error_attempts})`]
      : (b.last_delivered_at ? `${t('feed_last_delivered')} ${fmtTime(b.last_delivered_at)}` : '—')),
    h('td', {}, edit, ' ', pause));
}

async function load() {
  subscriptions = await api('/feed/subscriptions');
  table.querySelector('tbody').replaceChildren(...(subscriptions.length ? subscriptions.map(row)
    : [h('tr', {}, h('td', { colspan: 10, class: 'muted' }, t('no_items')))]));
  table.dataset.loaded = 'true';
}

function showSecret(secret) {
  document.getElementById('secret-once').textContent = secret;
  document.getElementById('secret-box').hidden = false;
}

function openForm(s) {
  form.reset();
  form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
  form.elements.id.value = s ? s.id : '';
  document.getElementById('sub-form-title').textContent = s ? t('feed_edit') : t('feed_new');
  document.getElementById('rotate-row').hidden = !s;
  if (s) {
    form.elements.name.value = s.name;
    form.elements.url.value = s.url;
    form.elements.timeout_seconds.value = s.timeout_seconds;
    form.querySelectorAll('input[name=kinds]').forEach((c) => { c.checked = s.kinds.includes(c.value); });
    form.querySelectorAll('input[name=districts]').forEach((c) => { c.checked = s.districts.includes(c.value); });
  }
  form.hidden = false;
  form.elements.name.focus();
}

function fieldErrors(err) {
  const errors = (err instanceof ApiError && err.body.errors) || {};
  const body = errors.json || errors;
  let shown = false;
  for (const [name, messages] of Object.entries(body)) {
    const box = form.querySelector(`[data-error-for="${name}"]`);
    if (box) { box.textContent = [].concat(messages).join(' '); shown = true; }
  }
  document.getElementById('sub-form-error').textContent = shown ? t('form_errors') : errorText(err);
}

async function save(id, body, message) {
  try {
    await api(id ? `/feed/subscriptions/${id}` : '/feed/subscriptions', { method: id ? 'PATCH' : 'POST', json: body });
    toast(message);
    await load();
    return true;
  } catch (err) {
    if (form.hidden) toast(errorText(err), 'error'); else fieldErrors(err);
    return false;
  }
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  form.querySelectorAll('.field-error').forEach((x) => { x.textContent = ''; });
  const id = form.elements.id.value;
  const body = {
    name: form.elements.name.value.trim(),
    url: form.elements.url.value.trim(),
    kinds: [...form.querySelectorAll('input[name=kinds]:checked')].map((c) => c.value),
    districts: [...form.querySelectorAll('input[name=districts]:checked')].map((c) => c.value),
    timeout_seconds: Number(form.elements.timeout_seconds.value || 5),
  };
  const secret = !id || form.elements.rotate.checked ? newSecret() : null;
  if (secret) body.secret = secret;
  if (await save(id, body, t('saved'))) {
    form.hidden = true;
    if (secret) showSecret(secret);
  }
});
document.getElementById('new-subscription').addEventListener('click', () => openForm(null));
document.getElementById('sub-cancel').addEventListener('click', () => { form.hidden = true; });
document.getElementById('secret-done').addEventListener('click', () => {
  document.getElementById('secret-once').textContent = '';
  document.getElementById('secret-box').hidden = true;
});
load().catch((err) => toast(errorText(err), 'error'));
setInterval(() => { if (form.hidden) load().catch(() => {}); }, 15000);
