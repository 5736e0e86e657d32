import { ApiError, api, errorText, t } from './api.js';

const form = document.getElementById('signin-form');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = document.getElementById('signin-error');
  error.hidden = true;
  const body = Object.fromEntries(new FormData(form));
  try {
    await api('/session', { method: 'POST', json: body });
    location.href = form.dataset.next || '/console/';
  } catch (err) {
    // the person's words, not the server's status line
    const status = err instanceof ApiError ? err.status : 0;
    error.textContent = status === 401 || status === 422 ? t('signin_wrong') : status === 429 ? t('signin_wait') : errorText(err);
    error.hidden = false;
  }
});
