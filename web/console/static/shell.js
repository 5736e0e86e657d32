// Every signed-in page: the phone menu, sign-out and the unread-notifications badge.
import { api, me } from './api.js';
import { watchRescues } from './attention.js';

document.getElementById('menu-toggle')?.addEventListener('click', () => document.body.classList.toggle('menu-open'));

// A session started through the city platform answers with the platform's sign-out page, which
// ends its session too and comes back to ours.
document.getElementById('signout')?.addEventListener('click', async () => {
  let next = '/console/signin';
  try { next = (await api('/session', { method: 'DELETE' }))?.end_session_url || next; } finally { location.href = next; }
});

export async function refreshBadge() {
  const badge = document.getElementById('unread-badge');
  if (!badge || !me) return;
  try {
    const data = await api('/notifications/unread-count');
    const count = typeof data === 'number' ? data : (data.unread ?? data.count ?? 0);
    badge.textContent = count > 99 ? '99+' : String(count);
    badge.hidden = !count;
  } catch {
    badge.hidden = true;
  }
}

if (me?.roles?.includes('dispatcher')) watchRescues(); // the 96933 seat answers rescues

if (me) {
  refreshBadge();
  setInterval(refreshBadge, 20000);
  window.addEventListener('lc:notifications-changed', refreshBadge);
}
