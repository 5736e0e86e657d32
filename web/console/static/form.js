// Renders a task form from its JSON Schema (the subset forms/*.json use: an object of strings —
// enum, date, date-time, long text —, integers, numbers, booleans and arrays of strings) and
// shows the server's 422 messages at each field. Validation stays on the server: one source of truth.
import { ApiError, UTC_OFFSET, h, lang, request, t } from './api.js';

const UPLOAD_NAMES = /photo|attachment|snapshot|evidence/i;

// The forms' words in the page's language (forms/labels.py): `title` is Chinese, `x-title-en`
// English; `x-enum-labels` names each enum value in both.
const EN = lang === 'en';
export function schemaTitle(schema, fallback = '') {
  return (EN && schema['x-title-en']) || schema.title || fallback;
}
function enumLabels(schema) {
  return (schema['x-enum-labels'] || {})[EN ? 'en' : 'zh-CN'] || {};
}

function localDateTime(iso) {
  if (!iso) return '';
  const d = new Date(Date.parse(iso) + 8 * 3600 * 1000); // shown in Beijing time
  return d.toISOString().slice(0, 16);
}

class Field {
  constructor(name, schema, required, ctx) {
    this.name = name;
    this.schema = schema;
    this.required = required;
    this.ctx = ctx;
    this.error = h('div', { class: 'field-error', 'data-error-for': name });
    this.node = h('div', { class: 'field', 'data-field': name });
  }
  label() {
    return h('span', { class: 'label' }, schemaTitle(this.schema, t(`field_${this.name}`)), this.required ? h('span', { class: 'req' }, ' *') : null);
  }
  finish(...control) {
    this.node.append(...control, this.error);
    return this;
  }
}

function stringField(name, schema, required, ctx, initial) {
  const f = new Field(name, schema, required, ctx);
  let input;
  if (schema.enum) {
    const labels = enumLabels(schema);
    input = h('select', { name }, h('option', { value: '' }, t('choose')),
      schema.enum.map((v) => h('option', { value: v, selected: v === initial }, labels[v] || v)));
  } else if (schema.format === 'date') {
    input = h('input', { name, type: 'date', value: initial || '' });
  } else if (schema.format === 'date-time') {
    input = h('input', { name, type: 'datetime-local', value: localDateTime(initial) });
  } else if ((schema.maxLength || 0) > 200) {
    input = h('textarea', { name, rows: 3, maxlength: schema.maxLength }, initial || '');
  } else {
    input = h('input', { name, type: name === 'phone' ? 'tel' : 'text', value: initial || '', maxlength: schema.maxLength });
  }
  f.collect = () => {
    const v = input.value.trim();
    if (!v) return undefined;
    return schema.format === 'date-time' && v.length === 16 ? `${v}:00${UTC_OFFSET}` : v;
  };
  return f.finish(h('label', {}, f.label(), input));
}

function numberField(name, schema, required, ctx, initial) {
  const f = new Field(name, schema, required, ctx);
  const input = h('input', {
    name, type: 'number', inputmode: schema.type === 'integer' ? 'numeric' : 'decimal',
    step: schema.type === 'integer' ? '1' : 'any', value: initial ?? '',
  });
  f.collect = () => (input.value === '' ? undefined : Number(input.value));
  return f.finish(h('label', {}, f.label(), input));
}

function booleanField(name, schema, required, ctx, initial) {
  const f = new Field(name, schema, required, ctx);
  const input = h('input', { name, type: 'checkbox', checked: initial === true });
  f.collect = () => input.checked;
  return f.finish(h('label', { class: 'check' }, input, f.label()));
}

function listField(name, schema, required, ctx, initial) {
  const f = new Field(name, schema, required, ctx);
  const input = h('textarea', { name, rows: 3, placeholder: t('one_per_line') }, (initial || []).join('\n'));
  f.collect = () => {
    const items = input.value.split('\n').map((s) => s.trim()).filter(Boolean);
    return items.length || required ? items : undefined;
  };
  return f.finish(h('label', {}, f.label(), input));
}

function cameraIcon() {
  const span = h('span', { class: 'icon', 'aria-hidden': 'true' });
  span.innerHTML = '<svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" stroke-width="2">'
    + '<path d="M4 8h3l2-3h6l2 3h3v11H4z"/><circle cx="12" cy="13" r="4"/></svg>';
  return span;
}

// Photos from the phone camera: each file is uploaded as evidence at once; the form carries the ids.
function uploadField(name, schema, required, ctx, many) {
  const f = new Field(name, schema, required, ctx);
  const ids = [];
  const previews = h('div', { class: 'previews' });
  const input = h('input', {
    name: `${name}__file`, type: 'file', accept: 'image/*', capture: 'environment', multiple: many,
    'data-upload-for': name,
  });
  input.addEventListener('change', async () => {
    for (const file of input.files) {
      const item = h('figure', { class: 'preview uploading' }, h('img', { src: URL.createObjectURL(file), alt: file.name }),
        h('figcaption', {}, t('uploading')));
      previews.append(item);
      const body = new FormData();
      body.append('file', file, file.name);
      try {
        const { data } = await request(`/tasks/${ctx.taskId}/attachments`, { method: 'POST', form: body });
        if (!many) ids.length = 0;
        ids.push(String(data.id));
        item.classList.remove('uploading');
        item.dataset.attachmentId = data.id;
        item.querySelector('figcaption').textContent = `${t('uploaded')} #${data.id}`;
        f.error.textContent = '';
      } catch (err) {
        item.classList.add('failed');
        const message = err instanceof ApiError ? (err.body.errors?.file || [err.message]).join(' ') : err.message;
        item.querySelector('figcaption').textContent = message;
      }
    }
    input.value = '';
  });
  f.collect = () => (many ? (ids.length || required ? [...ids] : undefined) : ids[ids.length - 1]);
  return f.finish(h('div', { class: 'upload' }, h('span', { class: 'label' }, f.label()),
    h('label', { class: 'button camera' }, cameraIcon(), t('take_photo'), input), previews));
}

// JSON objects reach us with sorted keys (the API sorts them), so the author's order is lost:
// required fields first in the schema's `required` order, then by kind, photos last.
function orderedProperties(schema) {
  const required = schema.required || [];
  const rank = ([name, p]) => {
    const i = required.indexOf(name);
    if (i >= 0) return i;
    if (UPLOAD_NAMES.test(name)) return 900;
    const kind = p.enum ? 100 : { integer: 200, number: 210, boolean: 400, array: 500 }[p.type] ?? 300;
    return kind + ((p.maxLength || 0) > 200 ? 50 : 0);
  };
  return Object.entries(schema.properties || {}).sort((a, b) => rank(a) - rank(b));
}

export function renderForm(container, schema, { taskId, initial = {} } = {}) {
  const required = new Set(schema.required || []);
  const ctx = { taskId };
  const fields = [];
  for (const [name, prop] of orderedProperties(schema)) {
    const req = required.has(name);
    const init = initial[name];
    const type = Array.isArray(prop.type) ? prop.type[0] : prop.type;
    let field;
    if (type === 'string' && UPLOAD_NAMES.test(name)) field = uploadField(name, prop, req, ctx, false);
    else if (type === 'array' && UPLOAD_NAMES.test(name)) field = uploadField(name, prop, req, ctx, true);
    else if (type === 'array') field = listField(name, prop, req, ctx, init);
    else if (type === 'boolean') field = booleanField(name, prop, req, ctx, init);
    else if (type === 'integer' || type === 'number') field = numberField(name, prop, req, ctx, init);
    else field = stringField(name, prop, req, ctx, init);
    fields.push(field);
  }
  const formError = h('div', { class: 'field-error form-error', 'data-error-for': '_form' });
  container.replaceChildren(...fields.map((f) => f.node), formError);
  const lat = container.querySelector('input[name=lat]');
  const lon = container.querySelector('input[name=lon]');
  if (lat && lon && navigator.geolocation) {
    // A technician on site fills the position from the phone rather than typing it.
    lat.closest('.field').before(h('button', { type: 'button', class: 'small', id: 'use-position', onclick: () => {
      navigator.geolocation.getCurrentPosition((p) => {
        lat.value = p.coords.latitude.toFixed(6);
        lon.value = p.coords.longitude.toFixed(6);
      }, (err) => { formError.textContent = err.message; }, { enableHighAccuracy: true, timeout: 10000 });
    } }, '◎ ', t('use_position')));
  }
  return {
    collect() {
      const data = {};
      for (const f of fields) {
        const v = f.collect();
        if (v !== undefined) data[f.name] = v;
      }
      return data;
    },
    // errors: {"field": [...], "field.0": [...], "_form": [...]} from the server's 422 body.
    showErrors(errors) {
      for (const f of fields) { f.error.textContent = ''; f.node.classList.remove('invalid'); }
      formError.textContent = '';
      let first = null;
      for (const [path, messages] of Object.entries(errors || {})) {
        const field = fields.find((f) => f.name === path.split('.')[0]);
        const text = (Array.isArray(messages) ? messages : [messages]).join(' ');
        if (field) {
          field.error.textContent += (field.error.textContent ? ' ' : '') + text;
          field.node.classList.add('invalid');
          first ||= field.node;
        } else {
          formError.textContent += `${path === '_form' ? '' : path + ': '}${text} `;
        }
      }
      (first || formError).scrollIntoView({ block: 'center', behavior: 'smooth' });
    },
  };
}
