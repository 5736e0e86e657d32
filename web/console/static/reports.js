// Reports for regulators and auditors: monthly PDFs, exports, the audit package with its manifest
// digest shown to copy and keep, and the stored scheduled reports.
import { ApiError, api, errorText, fmtTime, h, t, toast } from './api.js';
import { data } from './context.js';

const month = document.getElementById('report-month');
const rescue = document.getElementById('rescue-pdf');
const setMonth = () => { rescue.href = `${rescue.dataset.base}?month=${month.value}`; };
month.addEventListener('change', setMonth);
setMonth();

const form = document.getElementById('audit-form');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = document.getElementById('audit-error');
  error.textContent = '';
  const body = new FormData(form);
  const query = new URLSearchParams({ from: body.get('from'), to: body.get('to') });
  const button = document.getElementById('audit-download');
  button.disabled = true;
  try {
    const response = await fetch(`/api/v1/reports/audit-package?${query}`, { credentials: 'same-origin' });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
    const digest = response.headers.get('X-Manifest-Digest') || '';
    const blob = await response.blob();
    const link = h('a', { href: URL.createObjectURL(blob), download: `audit-${body.get('from')}-${body.get('to')}.zip` });
    document.body.append(link);
    link.click();
    link.remove();
    document.getElementById('audit-digest').value = digest;
    document.getElementById('audit-result').hidden = false;
  } catch (err) {
    error.textContent = errorText(err);
  } finally {
    button.disabled = false;
  }
});

document.getElementById('copy-digest').addEventListener('click', async () => {
  const input = document.getElementById('audit-digest');
  input.select();
  try { await navigator.clipboard.writeText(input.value); toast(t('saved'), 'ok'); } catch { /* selected: Ctrl+C works */ }
});

api('/reports').then((rows) => {
  document.querySelector('#stored-reports tbody').replaceChildren(...(rows.length ? rows.map((r) => h('tr', {},
    h('td', {}, data('a', { href: r.url }, r.title)), h('td', {}, `${r.period_start} – ${r.period_end}`), h('td', {}, r.pages),
    h('td', {}, data('code', { title: r.sha256 }, r.sha256.slice(0, 16))), h('td', {}, fmtTime(r.created_at))))
    : [h('tr', {}, h('td', { class: 'muted', colspan: 5 }, t('no_items')))]));
}).catch((err) => {
  document.querySelector('#stored-reports tbody').replaceChildren(h('tr', {}, h('td', { class: 'error' }, errorText(err))));
});
