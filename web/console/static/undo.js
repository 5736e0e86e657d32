// Undo where it is safe (a night-shift seat clicks the wrong button): one bar at the bottom of the
// page with the action, a countdown and an Undo button.
// - holdBack: a case-wide step (cancel, escalate) waits a few seconds in this page before it is
//   sent; Undo within them sends nothing, so the server has nothing to record.
// - offerUndo: a step already done that can be taken back (my claim of a task): Undo runs the
//   opposite step, which the timeline records as its own entry; nothing is erased.
import { h, t } from './api.js';

function bar(message, seconds, undoLabel) {
  document.getElementById('undo-bar')?.remove();
  const count = h('span', { class: 'undo-count', 'aria-hidden': 'true' }, String(seconds));
  const undo = h('button', { type: 'button', id: 'undo-action', class: 'undo-button' }, undoLabel);
  const node = h('div', { id: 'undo-bar', class: 'undo-bar', role: 'status', 'aria-live': 'assertive' },
    h('span', { class: 'undo-message' }, message), count, undo);
  document.body.append(node);
  undo.focus();
  return { node, count, undo };
}

// Resolves true when the time ran out (send now), false when undone (do not send).
export function holdBack(message, seconds = 5) {
  const { node, count, undo } = bar(message, seconds, t('undo_send'));
  const warn = (event) => { event.preventDefault(); event.returnValue = ''; }; // leaving would drop it
  window.addEventListener('beforeunload', warn);
  return new Promise((resolve) => {
    let left = seconds;
    const finish = (send) => {
      clearInterval(timer);
      window.removeEventListener('beforeunload', warn);
      node.remove();
      resolve(send);
    };
    const timer = setInterval(() => {
      left -= 1;
      count.textContent = String(left);
      if (left <= 0) finish(true);
    }, 1000);
    undo.addEventListener('click', () => finish(false));
    node.dataset.state = 'holding';
  });
}

// Shows the bar for `seconds`; Undo calls `undo()` (and the bar says whether it worked).
export function offerUndo(message, undoFn, seconds = 10) {
  const { node, count, undo } = bar(message, seconds, t('undo'));
  let left = seconds;
  const timer = setInterval(() => {
    left -= 1;
    count.textContent = String(left);
    if (left <= 0) { clearInterval(timer); node.remove(); }
  }, 1000);
  node.dataset.state = 'offered';
  undo.addEventListener('click', async () => {
    clearInterval(timer);
    undo.disabled = true;
    try {
      await undoFn();
      node.remove();
    } catch (err) {
      node.querySelector('.undo-message').textContent = t('undo_failed');
      setTimeout(() => node.remove(), 4000);
    }
  });
}
