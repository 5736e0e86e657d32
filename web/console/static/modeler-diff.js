// A version's changes against the one before, as the server computed them (engine/definition_diff):
// one row per element added, removed or changed, with each changed property's before and after.
// The analyst confirms it before deploying; the version list shows it again.
import { h, t } from './api.js';

// BPMN element types and the properties the engine reads, in the reader's language.
const KINDS = ['userTask', 'serviceTask', 'scriptTask', 'manualTask', 'sendTask', 'receiveTask', 'task',
  'sequenceFlow', 'exclusiveGateway', 'parallelGateway', 'inclusiveGateway', 'eventBasedGateway',
  'startEvent', 'endEvent', 'boundaryEvent', 'intermediateCatchEvent', 'intermediateThrowEvent',
  'subProcess', 'callActivity', 'lane', 'dataObject', 'dataObjectReference', 'form'];
const PROPERTIES = ['name', 'lane', 'condition', 'timer', 'form', 'due_in', 'role', 'script', 'preScript',
  'postScript', 'source', 'target', 'default', 'attachedToRef', 'cancelActivity', 'event', 'messageRef',
  'errorRef', 'signalRef', 'escalationRef', 'service', 'multi_instance', 'calledElement', 'schema', 'type'];

function word(prefix, value, known) {
  return known.includes(value) ? t(`${prefix}${value}`) : value;
}

// An element type ('userTask' or 'bpmn:UserTask') in the reader's language, the type itself if unknown.
export function kindLabel(type) {
  const bare = type.replace(/^bpmn:/, '');
  const kind = bare.charAt(0).toLowerCase() + bare.slice(1);
  return KINDS.includes(kind) ? t(`kind_${kind}`) : bare;
}

function value(text) {
  if (text === null || text === undefined) return h('span', { class: 'muted' }, '—');
  return h('code', { translate: 'no' }, text);
}

export function changeList(changes) {
  return h('table', { class: 'grid diff-table' },
    h('thead', {}, h('tr', {}, [t('diff_change'), t('diff_element'), t('diff_property'), t('diff_before'), t('diff_after')].map((c) => h('th', {}, c)))),
    h('tbody', {}, changes.flatMap((c) => {
      const head = [
        h('td', {}, h('span', { class: `pill change-${c.change}` }, t(`diff_${c.change}`))),
        h('td', {}, h('span', {}, word('kind_', c.kind, KINDS)), ' ',
          c.name ? h('span', { translate: 'no' }, `「${c.name}」`) : null, h('code', { translate: 'no' }, c.element)),
      ];
      if (!c.properties.length) return [h('tr', { 'data-element': c.element, 'data-change': c.change }, ...head, h('td', { colspan: 3 }))];
      return c.properties.map((p, i) => h('tr', { 'data-element': c.element, 'data-change': c.change, 'data-property': p.property },
        ...(i === 0 ? head : [h('td'), h('td')]),
        h('td', {}, word('dprop_', p.property, PROPERTIES)),
        h('td', { class: 'before' }, p.property === 'schema' ? h('span', {}, t('diff_schema_old')) : value(p.before)),
        h('td', { class: 'after' }, p.property === 'schema' ? h('span', {}, t('diff_schema_new')) : value(p.after))));
    })));
}
