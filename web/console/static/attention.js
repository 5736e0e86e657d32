// A new P1 rescue must not wait for the dispatcher to look: the tab title counts unclaimed P1
// tasks, the Tasks menu entry carries a red badge, and each new one sounds a tone (muted with the
// bell button, remembered in this browser).
import { apiPage, h, t } from './api.js';

const MUTE_KEY = 'lc-mute-rescue-alarm';
const SEEN_KEY = 'lc-seen-p1';
const baseTitle = document.title;
let audio = null;

function muted() { return localStorage.getItem(MUTE_KEY) === '1'; }

function tone() {
  document.body.dataset.rescueTones = String(Number(document.body.dataset.rescueTones || 0) + 1);
  if (muted()) return;
  try {
    audio ||= new AudioContext();
    for (const [i, freq] of [880, 660, 880].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + i * 0.25);
      osc.stop(audio.currentTime + i * 0.25 + 0.2);
    }
  } catch { /* no audio device: the title and the badge still tell */ }
}

function muteButton() {
  const button = h('button', { type: 'button', class: 'link mute', id: 'mute-alarm', 'aria-pressed': String(muted()) });
  const paint = () => {
    button.textContent = muted() ? t('sound_off') : t('sound_on'); // words: an emoji needs a font kiosks lack
    button.title = muted() ? t('unmute') : t('mute');
    button.setAttribute('aria-label', button.title);
    button.setAttribute('aria-pressed', String(muted()));
  };
  button.addEventListener('click', () => {
    localStorage.setItem(MUTE_KEY, muted() ? '0' : '1');
    paint();
  });
  paint();
  return button;
}

async function check() {
  let page;
  try {
    page = await apiPage('/tasks', { query: { scope: 'org', claim: 'unclaimed', page_size: 50 } });
  } catch { return; }
  const urgent = page.items.filter((task) => task.case?.priority === 'P1');
  const seen = new Set(JSON.parse(sessionStorage.getItem(SEEN_KEY) || '[]'));
  const fresh = urgent.filter((task) => !seen.has(task.id));
  sessionStorage.setItem(SEEN_KEY, JSON.stringify(urgent.map((task) => task.id)));
  document.title = urgent.length ? `(${urgent.length}) ${t('new_rescue')} · ${baseTitle}` : baseTitle;
  const link = document.querySelector('[data-nav=inbox]');
  if (link) {
    let badge = link.querySelector('.badge.p1');
    if (!badge) { badge = h('span', { class: 'badge p1', id: 'p1-badge' }); link.append(' ', badge); }
    badge.textContent = String(urgent.length);
    badge.hidden = !urgent.length;
  }
  document.body.dataset.p1 = String(urgent.length);
  if (fresh.length) tone();
}

export function watchRescues() {
  document.querySelector('.userbox')?.prepend(muteButton());
  check();
  setInterval(check, 10000); // polling: the page's own stream (if any) is not doubled
}
