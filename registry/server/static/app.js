// Plugboard marketplace: progressive enhancement only. Every page works
// without this script; with it, copy buttons appear and the search page
// updates its results as you type.
(() => {
  'use strict';

  for (const button of document.querySelectorAll('button[data-copy]')) {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.status || '');
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = 'Copied';
        if (status) status.textContent = 'Copied to the clipboard.';
      } catch (error) {
        if (status) status.textContent = 'Could not copy: select the command and copy it yourself.';
      }
      setTimeout(() => { button.textContent = 'Copy'; }, 2000);
    });
  }

  const form = document.getElementById('search-form');
  const results = document.getElementById('results');
  if (!form || !results) return;
  let timer = 0;
  let inflight = null;
  const update = () => {
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params]) if (value === '') params.delete(key);
    const action = form.getAttribute('action');
    const address = params.toString() ? `${action}?${params}` : action;
    params.set('fragment', '1');
    if (inflight) inflight.abort();
    inflight = new AbortController();
    results.setAttribute('aria-busy', 'true');
    fetch(`${action}?${params}`, { signal: inflight.signal, headers: { accept: 'text/html' } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        results.innerHTML = html;
        history.replaceState(null, '', address);
      })
      .catch(() => {})
      .finally(() => results.removeAttribute('aria-busy'));
  };
  form.addEventListener('input', (event) => {
    if (event.target.type !== 'search') return;
    clearTimeout(timer);
    timer = setTimeout(update, 200);
  });
  form.addEventListener('change', (event) => {
    if (event.target.type !== 'search') update();
  });
})();
