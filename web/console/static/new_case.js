// A regulator opens an inspection-expiry or rectification case by hand (POST /cases) for the elevator
// or other special equipment the page shows, with a reason (the case's first comment); then the case page.
import { ApiError, api, errorText, t } from './api.js';

const form = document.getElementById('new-case-form');
const subject = document.getElementById('subject').dataset;

function show() {
  const type = form.elements.type.value;
  for (const el of form.querySelectorAll('[data-for]')) el.hidden = el.dataset.for !== type;
  const kind = form.elements.kind ? form.elements.kind.value : 'inspection';
  for (const el of form.querySelectorAll('[data-for-kind]')) el.hidden = el.dataset.forKind !== kind;
}

function showErrors(errors) {
  for (const el of form.querySelectorAll('[data-error-for]')) {
    const messages = errors[el.dataset.errorFor];
    el.textContent = messages ? [].concat(messages).join(' ') : '';
  }
}

function body() {
  const v = (name) => (form.elements[name] ? form.elements[name].value.trim() : '');
  const out = { type: v('type'), reason: v('reason'), [`${subject.kind}_id`]: Number(subject.id) };
  if (out.type === 'expiry') {
    out.kind = v('kind') || 'inspection';
    if (out.kind === 'inspection' && v('due_date')) out.due_date = v('due_date');
  } else {
    if (v('report_no')) out.report_no = v('report_no');
    const findings = v('findings').split('\n').map((s) => s.trim()).filter(Boolean);
    if (findings.length) out.findings = findings;
  }
  return out;
}

form.addEventListener('change', show);
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const json = body();
  if (json.reason.length < 2) { showErrors({ reason: t('reason_required') }); return; }
  showErrors({});
  try {
    const opened = await api('/cases', { method: 'POST', json });
    location.href = `/console/cases/${opened.case_id}`;
  } catch (err) {
    const fields = err instanceof ApiError ? err.body?.errors?.json : null;
    showErrors(fields ? { ...fields, _form: t('form_errors') } : { _form: errorText(err) });
  }
});
show();
