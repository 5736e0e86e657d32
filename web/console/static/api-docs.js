// The API docs page (Swagger UI): its settings come from the page's JSON data block, so no inline script.
window.addEventListener('load', () => {
  const config = JSON.parse(document.getElementById('swagger-ui-config').textContent);
  window.ui = window.SwaggerUIBundle(config);
});
