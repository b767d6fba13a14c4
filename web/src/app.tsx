// The app: the login round trip (/callback), then the signed-in shell with its routes — the person's
// portal pages and the console pages their rights allow.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';

import { completeLogin, startLogin } from './auth/oauth';
import { loadPerson } from './auth/me';
import { hasRight, setPerson, storeTokens, useSession, type Person } from './auth/session';
import { CONSOLE_PAGES } from './console/pages';
import { Layout } from './layout';
import { Overview } from './portal/overview';
import { PasswordPage } from './portal/password';
import { SpendingPage } from './portal/spending';
import { StatementPage } from './portal/statement';
import { TopUpPage } from './portal/top-up';
import { PageTitle } from './ui/parts';

export function App(): JSX.Element {
  return (
    <LocationProvider>
      <Shell />
    </LocationProvider>
  );
}

function Shell(): JSX.Element {
  const session = useSession();
  const { path, url } = useLocation();
  if (path === '/callback') return <Callback />;
  if (session.status !== 'active') return <SigningIn returnTo={url} />;
  return (
    <Layout person={session.person}>
      <Routes person={session.person} />
    </Layout>
  );
}

function Routes({ person }: { person: Person }): JSX.Element {
  return (
    <Router>
      <Route path="/" component={Overview} />
      <Route path="/statement" component={StatementPage} />
      <Route path="/top-up" component={TopUpPage} />
      <Route path="/spending" component={SpendingPage} />
      <Route path="/password" component={PasswordPage} />
      {CONSOLE_PAGES.map((page) => (
        <Route key={page.path} path={page.path} component={hasRight(person, page.right) ? page.component : Forbidden} />
      ))}
      <Route default component={NotFound} />
    </Router>
  );
}

/** No session: off to Purse's login page, which comes back to /callback and then to `returnTo`. */
function SigningIn({ returnTo }: { returnTo: string }): JSX.Element {
  useEffect(() => {
    void startLogin(returnTo);
  }, [returnTo]);
  return (
    <main class="center-card" id="main">
      <h1>Purse</h1>
      <p role="status">Taking you to the login page…</p>
    </main>
  );
}

function Callback(): JSX.Element {
  const { route } = useLocation();
  const [problem, setProblem] = useState<string | undefined>(undefined);
  useEffect(() => {
    (async () => {
      const { tokens, returnTo } = await completeLogin(new URLSearchParams(window.location.search));
      storeTokens(tokens);
      setPerson(await loadPerson());
      route(returnTo.startsWith('/') && !returnTo.startsWith('/callback') ? returnTo : '/', true);
    })().catch((error: unknown) => {
      setProblem(error instanceof Error ? error.message : String(error));
    });
    // Once: the code and the stored verifier are single-use.
  }, []);
  return (
    <main class="center-card" id="main">
      <h1>Purse</h1>
      {problem === undefined ? (
        <p role="status">Logging in…</p>
      ) : (
        <>
          <p class="alert alert-error" role="alert">
            {problem}
          </p>
          <button type="button" class="button button-primary" onClick={() => void startLogin('/')}>
            Log in again
          </button>
        </>
      )}
    </main>
  );
}

function Forbidden(): JSX.Element {
  return (
    <>
      <PageTitle>Not allowed</PageTitle>
      <p>This page needs a right that your account does not have. An administrator can grant it.</p>
    </>
  );
}

function NotFound(): JSX.Element {
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <p>
        There is no page at this address. <a href="/">Back to the overview</a>.
      </p>
    </>
  );
}
