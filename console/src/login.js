// Sign in: the token goes to /console/session once; the answer sets an
// HttpOnly session cookie. The token itself is never stored by the page.
const form = document.getElementById('signin');
const error = document.getElementById('error');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const token = document.getElementById('token').value.trim();
  let res;
  try {
    res = await fetch('/console/session', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({token}),
      credentials: 'same-origin',
    });
  } catch (e) {
    error.textContent = 'The admin server did not answer.';
    error.hidden = false;
    return;
  }
  if (res.ok) {
    location.assign('/console/');
    return;
  }
  let detail = res.statusText;
  try { detail = (await res.json()).detail || detail; } catch (e) { /* not JSON */ }
  error.textContent = detail;
  error.hidden = false;
});
