import { api, errorText } from './api.js';

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
    error.textContent = errorText(err);
    error.hidden = false;
  }
});
