// The login page of GET /oauth/authorize, rendered on the server: plain HTML forms that work
// without script, every value escaped, no inline style or script (the page's CSP forbids both), and
// a stylesheet Purse serves itself (LOGIN_CSS at /oauth/login.css).

/** The authorization request the page carries through its forms, as hidden fields. */
export interface AuthorizeParams {
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  code_challenge_method: string;
  state?: string;
  scope?: string;
}

export type LoginMethod = 'password' | 'card';

export interface LoginPageState {
  params: AuthorizeParams;
  csrf: string;
  /** The form the person used last, and what to say next to which of its fields. */
  method?: LoginMethod;
  problem?: { field: string; message: string };
  /** Kept across a failed attempt; never the password or PIN. */
  username?: string;
}

export const LOGIN_CSS_PATH = '/oauth/login.css';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML content and double-quoted attributes alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${LOGIN_CSS_PATH}">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function hiddenFields(state: LoginPageState, method: LoginMethod): string {
  const { params } = state;
  // POST /oauth/authorize checks the whole request again, response_type included.
  const fields: [string, string | undefined][] = [
    ['response_type', 'code'],
    ['client_id', params.client_id],
    ['redirect_uri', params.redirect_uri],
    ['code_challenge', params.code_challenge],
    ['code_challenge_method', params.code_challenge_method],
    ['state', params.state],
    ['scope', params.scope],
    ['csrf', state.csrf],
    ['method', method],
  ];
  return fields
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
}

interface FieldSpec {
  name: string;
  label: string;
  type: 'text' | 'password';
  autocomplete: string;
  value?: string;
  inputmode?: 'numeric';
}

/** A labelled input; the problem, when it is about this field, is next to it and announced with it. */
function field(state: LoginPageState, method: LoginMethod, spec: FieldSpec): string {
  const id = `${method}-${spec.name}`;
  const problem = state.method === method && state.problem?.field === spec.name ? state.problem.message : undefined;
  const described = problem === undefined ? '' : ` aria-invalid="true" aria-describedby="${id}-problem"`;
  const value = spec.value === undefined ? '' : ` value="${escapeHtml(spec.value)}"`;
  const inputmode = spec.inputmode === undefined ? '' : ` inputmode="${spec.inputmode}"`;
  return `<div class="field">
<label for="${id}">${escapeHtml(spec.label)}</label>
<input id="${id}" name="${spec.name}" type="${spec.type}" autocomplete="${spec.autocomplete}" required maxlength="256"${inputmode}${value}${described}>
${problem === undefined ? '' : `<p class="problem" id="${id}-problem" role="alert">${escapeHtml(problem)}</p>`}
</div>`;
}

function form(state: LoginPageState, method: LoginMethod, legend: string, fields: string, submit: string): string {
  return `<form method="post" action="/oauth/authorize" class="login">
<fieldset>
<legend>${escapeHtml(legend)}</legend>
${hiddenFields(state, method)}
${fields}
<button type="submit">${escapeHtml(submit)}</button>
</fieldset>
</form>`;
}

/** Two ways in: username and password, or login card and PIN. */
export function loginPage(state: LoginPageState): string {
  const general = state.problem?.field === 'form' ? `<p class="problem" role="alert">${escapeHtml(state.problem.message)}</p>` : '';
  const password = form(
    state,
    'password',
    'Username and password',
    [
      field(state, 'password', { name: 'username', label: 'Username', type: 'text', autocomplete: 'username', ...(state.username === undefined ? {} : { value: state.username }) }),
      field(state, 'password', { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' }),
    ].join('\n'),
    'Log in',
  );
  const card = form(
    state,
    'card',
    'Login card and PIN',
    [
      field(state, 'card', { name: 'card', label: 'Card number', type: 'text', autocomplete: 'off' }),
      field(state, 'card', { name: 'pin', label: 'PIN', type: 'password', autocomplete: 'off', inputmode: 'numeric' }),
    ].join('\n'),
    'Log in with card',
  );
  return page('Log in — Purse', `<h1>Log in to Purse</h1>\n${general}\n${password}\n${card}`);
}

/** A request the page cannot answer with a redirect (unknown client, foreign redirect_uri). */
export function errorPage(title: string, message: string): string {
  return page(`${title} — Purse`, `<h1>${escapeHtml(title)}</h1>\n<p class="problem" role="alert">${escapeHtml(message)}</p>`);
}

/** Readable from 360 px up; large targets; visible focus; contrast above WCAG AA. */
export const LOGIN_CSS = `*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 100%; color: #1a1a1a; background: #f4f5f7; }
body { margin: 0; }
main { max-width: 28rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
form.login { margin: 0 0 1.25rem; }
fieldset { border: 1px solid #c4c8cf; border-radius: 0.5rem; background: #fff; padding: 1rem; margin: 0; min-width: 0; }
legend { font-weight: 600; padding: 0 0.25rem; }
.field { margin: 0 0 0.875rem; }
label { display: block; font-weight: 500; margin: 0 0 0.25rem; }
input { display: block; width: 100%; font: inherit; padding: 0.625rem 0.75rem; border: 1px solid #6b7280; border-radius: 0.375rem; background: #fff; color: inherit; }
input[aria-invalid="true"] { border-color: #b3261e; }
button { font: inherit; font-weight: 600; min-height: 2.75rem; width: 100%; border: 0; border-radius: 0.375rem; background: #1d4ed8; color: #fff; cursor: pointer; }
button:hover { background: #1e40af; }
input:focus-visible, button:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.problem { color: #b3261e; margin: 0.375rem 0 0; font-weight: 500; }
`;
