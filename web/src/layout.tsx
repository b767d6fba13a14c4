// The frame of every signed-in page: the header with the person and logout, the navigation (the
// console's links only for the rights they need), and the page itself.
import type { ComponentChildren, JSX } from 'preact';
import { useLocation } from 'preact-iso';

import { startLogin } from './auth/oauth';
import { hasRight, logout, type Person } from './auth/session';
import { CONSOLE_PAGES } from './console/pages';

export const PORTAL_LINKS = [
  { href: '/', label: 'Overview' },
  { href: '/statement', label: 'Statement' },
  { href: '/top-up', label: 'Top up' },
  { href: '/spending', label: 'Holds and charges' },
  { href: '/password', label: 'Password' },
];

function NavLink({ href, label }: { href: string; label: string }): JSX.Element {
  const { path } = useLocation();
  const current = path === href;
  return (
    <li>
      <a href={href} class={current ? 'nav-link nav-link-current' : 'nav-link'} aria-current={current ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
}

export function consoleLinks(person: Person): { href: string; label: string }[] {
  return CONSOLE_PAGES.flatMap((page) => (page.label !== undefined && hasRight(person, page.right) ? [{ href: page.path, label: page.label }] : []));
}

async function logoutAndLeave(): Promise<void> {
  await logout();
  await startLogin('/');
}

export function Layout({ person, children }: { person: Person; children: ComponentChildren }): JSX.Element {
  const consoleNav = consoleLinks(person);
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/">
          Purse
        </a>
        <div class="who">
          <span class="who-name">{person.fullname === '' ? person.username : person.fullname}</span>
          <button type="button" class="button button-quiet" onClick={() => void logoutAndLeave()}>
            Log out
          </button>
        </div>
      </header>
      <nav class="nav" aria-label="Main">
        <ul class="nav-list">
          {PORTAL_LINKS.map((link) => (
            <NavLink key={link.href} {...link} />
          ))}
        </ul>
        {consoleNav.length === 0 ? null : (
          <>
            <h2 class="nav-heading" id="console-nav">
              Console
            </h2>
            <ul class="nav-list" aria-labelledby="console-nav">
              {consoleNav.map((link) => (
                <NavLink key={link.href} {...link} />
              ))}
            </ul>
          </>
        )}
      </nav>
      <main id="main" class="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
