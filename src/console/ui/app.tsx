import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, errorText, setCsrfToken, setUnauthorizedHandler } from './api.ts';
import type { Session } from './api-types.ts';
import { Link, Notice } from './components/common.tsx';
import { closeEvents, openEvents } from './events.ts';
import { match, navigate, usePath } from './router.ts';
import { ConnectionsView } from './views/connections.tsx';
import { LoginView } from './views/login.tsx';
import { OverviewView } from './views/overview.tsx';
import { QueueDetailView } from './views/queue-detail.tsx';
import { QueuesView } from './views/queues.tsx';
import { RouteDetailView } from './views/route-detail.tsx';
import { RouteEditorView } from './views/route-editor.tsx';
import { RoutesView } from './views/routes.tsx';
import { SubscriptionsView } from './views/subscriptions.tsx';
import { UsersView } from './views/users.tsx';

const NAV: ReadonlyArray<readonly [string, string]> = [
  ['/', 'Overview'],
  ['/queues', 'Queues'],
  ['/connections', 'Connections'],
  ['/subscriptions', 'Subscriptions'],
  ['/routes', 'Routes'],
];

/** The console: the session first (login when security is on), then the navigation and one view per path. */
export function App(): JSX.Element {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const path = usePath();

  const load = useCallback(() => {
    api<Session>('GET', '/auth/session')
      .then((s) => {
        setCsrfToken(s.csrfToken);
        setSession(s);
        setError(undefined);
      })
      .catch((err: unknown) => setError(errorText(err)));
  }, []);

  useEffect(() => {
    load();
    setUnauthorizedHandler(() => {
      closeEvents();
      setCsrfToken(undefined);
      setSession((s) => (s === undefined ? s : { security: true }));
    });
  }, [load]);

  const loggedIn = session !== undefined && (!session.security || session.user !== undefined);
  useEffect(() => {
    if (loggedIn) openEvents();
    return closeEvents;
  }, [loggedIn]);

  if (session === undefined) {
    return (
      <main class="center">
        <Notice error={error} info={error === undefined ? 'Loading...' : undefined} />
        {error !== undefined && (
          <button type="button" onClick={load}>
            Retry
          </button>
        )}
      </main>
    );
  }
  if (!loggedIn) {
    return (
      <LoginView
        onLogin={(s) => {
          setCsrfToken(s.csrfToken);
          setSession({ ...s, security: true });
        }}
      />
    );
  }

  const logout = async (): Promise<void> => {
    try {
      await api('POST', '/auth/logout');
    } catch {
      // Logged out either way: the session is dropped below and the login shown.
    }
    closeEvents();
    setCsrfToken(undefined);
    setSession({ security: true });
    // The next user starts at the overview (an expired session, instead, logs in where it was).
    navigate('/');
  };

  const nav = session.security ? [...NAV, ['/users', 'Users'] as const] : NAV;
  const section = '/' + (path.split('?')[0]!.split('/')[1] ?? '');
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Junction</span>
        <nav aria-label="Main">
          {nav.map(([href, label]) => (
            <Link key={href} href={href} class="nav" aria-current={section === href ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <span class="who">
          {session.security ? (
            <>
              <span>{session.user}</span>
              <button type="button" onClick={() => void logout()}>
                Log out
              </button>
            </>
          ) : (
            <span class="muted">security off</span>
          )}
        </span>
      </header>
      <main>{view(path, session)}</main>
    </div>
  );
}

function view(path: string, session: Session): JSX.Element {
  const p = path.split('?')[0]!;
  let m: Record<string, string> | undefined;
  if (p === '/' || p === '') return <OverviewView />;
  if (p === '/queues') return <QueuesView />;
  if ((m = match('/queues/:name', p))) return <QueueDetailView key={m.name} name={m.name!} />;
  if (p === '/connections') return <ConnectionsView />;
  if (p === '/subscriptions') return <SubscriptionsView />;
  if (p === '/routes') return <RoutesView />;
  if (p === '/routes/new') return <RouteEditorView key="new" />;
  if ((m = match('/routes/:id/edit', p))) return <RouteEditorView key={`edit-${m.id}`} id={m.id} />;
  if ((m = match('/routes/:id', p))) return <RouteDetailView key={m.id} id={m.id!} />;
  if (p === '/users' && session.security) return <UsersView self={session.user} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No console page at <code>{p}</code>. <Link href="/">Overview</Link>
      </p>
    </section>
  );
}
