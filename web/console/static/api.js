// The console's one way to call the JSON API: same-origin cookie, CSRF header on unsafe requests,
// errors as ApiError with the server's error body ({code, status, message, errors}).
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
const strings = JSON.parse(document.getElementById('lc-strings')?.textContent || '{}');
export const me = JSON.parse(document.getElementById('lc-me')?.textContent || 'null');
export const lang = document.body.dataset.lang || 'zh_CN';
// The city's time zone and its UTC offset, from the server (infra.settings.CITY_TZ).
export const TZ = document.body.dataset.tz || 'UTC';
export const UTC_OFFSET = document.body.dataset.utcOffset || '+00:00';

export function t(key) {
  return strings[key] ?? key;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

function buildUrl(path, query) {
  const url = new URL(path.startsWith('/api/') ? path : '/api/v1' + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  return url.pathname + url.search;
}

export async function request(path, { method = 'GET', json, form, query } = {}) {
  const headers = { Accept: 'application/json' };
  if (!['GET', 'HEAD'].includes(method)) headers['X-CSRF-Token'] = csrf;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const response = await fetch(buildUrl(path, query), { method, headers, body, credentials: 'same-origin' });
  if (response.status === 401 && !path.endsWith('/session')) {
    location.href = '/console/signin?next=' + encodeURIComponent(location.pathname + location.search);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, headers: response.headers };
}

export async function api(path, options) {
  return (await request(path, options)).data;
}

// A page of a paginated list: {items, total, page, pages} (flask-smorest's X-Pagination header).
export async function apiPage(path, options) {
  const { data, headers } = await request(path, options);
  const p = JSON.parse(headers.get('X-Pagination') || '{}');
  return { items: data || [], total: p.total ?? (data || []).length, page: p.page ?? 1, pages: p.total_pages ?? 1 };
}

// Server time (the system's clock, which tests may hold still) rather than the browser's.
const offset = Date.parse(document.body.dataset.serverNow || '') - Date.now() || 0;
export function now() {
  return Date.now() + offset;
}

const dateTime = new Intl.DateTimeFormat('en-GB', {
  timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
});
// 2026-11-23 09:30, Beijing time, in either language.
export function fmtTime(iso) {
  if (!iso) return '—';
  const p = Object.fromEntries(dateTime.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}
export function fmtDate(iso) {
  return iso ? fmtTime(iso).slice(0, 10) : '—';
}

export function fmtDuration(seconds) {
  const s = Math.abs(Math.round(seconds));
  if (s < 60) return `${s} ${t('s')}`;
  if (s < 3600) return `${Math.floor(s / 60)} ${t('min')}${s % 60 ? ' ' + (s % 60) + ' ' + t('s') : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)} ${t('h')} ${Math.floor((s % 3600) / 60)} ${t('min')}`;
  return `${Math.floor(s / 86400)} ${t('d')} ${Math.floor((s % 86400) / 3600)} ${t('h')}`;
}

// "due in 4 min 30 s" / "overdue by 2 min", from a due time and the server's clock.
export function countdown(dueIso) {
  if (!dueIso) return { text: t('no_due'), overdue: false, seconds: null };
  const seconds = (Date.parse(dueIso) - now()) / 1000;
  return seconds >= 0
    ? { text: `${t('due_in')} ${fmtDuration(seconds)}`, overdue: false, seconds }
    : { text: `${t('overdue_by')} ${fmtDuration(seconds)}`, overdue: true, seconds };
}

export function showCountdown(node) {
  const c = countdown(node.dataset.due);
  node.textContent = c.text;
  node.classList.toggle('overdue', c.overdue);
  node.classList.toggle('soon', !c.overdue && c.seconds !== null && c.seconds < 600);
  return node;
}

// An element that shows "due in …" / "overdue by …" from the start and keeps it current.
export function dueNode(tag, dueIso, attrs = {}) {
  const node = h(tag, { ...attrs, class: `due ${attrs.class || ''}`.trim(), 'data-due': dueIso || '' });
  return showCountdown(node);
}

// Re-render every [data-due] element's countdown once a second.
export function tickCountdowns(root = document) {
  const tick = () => root.querySelectorAll('[data-due]').forEach(showCountdown);
  tick();
  return setInterval(tick, 1000);
}

// Tiny DOM builder: h('a', {href, class: 'x'}, 'text', child...)
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'style') node.style.cssText = v; // CSSOM: the CSP (style-src 'self') refuses style attributes
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// replaceChildren without the null/false placeholders of conditional children.
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function toast(message, kind = 'info') {
  const box = document.getElementById('toast');
  if (!box) return;
  box.textContent = message;
  box.className = `show ${kind}`;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => { box.className = ''; }, 4000);
}

// What went wrong in the person's language (the server's message is English, for integrators).
export function errorText(err) {
  if (!(err instanceof ApiError)) return t('error');
  const key = `http_${err.status}`;
  return t(key) !== key ? t(key) : t('error');
}

export function statusLabel(status) {
  return t('status_' + status);
}

export function typeLabel(type) {
  return t('type_' + type);
}

// Live updates: the notification stream (SSE) when the server offers it, and polling as a floor.
export function live(onChange, { everySeconds = 15, onState } = {}) {
  let timer = setInterval(onChange, everySeconds * 1000);
  let source = null;
  if (window.EventSource) {
    try {
      source = new EventSource('/api/v1/notifications/stream');
      source.onmessage = () => onChange();
      source.addEventListener('notification', () => onChange());
      source.onopen = () => onState?.(true);
      source.onerror = () => onState?.(source.readyState === EventSource.OPEN);
      // On a dropped stream EventSource reconnects by itself (resuming after Last-Event-ID);
      // if the server refuses it, it stays closed and the polling above carries on.
    } catch { source = null; }
  }
  return () => { clearInterval(timer); source?.close(); };
}
