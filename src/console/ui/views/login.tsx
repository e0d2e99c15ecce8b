import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, errorText } from '../api.ts';
import type { Session } from '../api-types.ts';
import { Notice } from '../components/common.tsx';

/** The login form (security on, no session): `POST /auth/login` sets the session cookie and returns the CSRF token. */
export function LoginView(props: { onLogin: (s: Session) => void }): JSX.Element {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const s = await api<Session>('POST', '/auth/login', { user, password });
      props.onLogin(s);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Wrong user name or password.' : errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="center">
      <form class="login card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">Junction console</h1>
        <label>
          User
          <input name="user" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <Notice error={error} />
        <button type="submit" class="primary" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}
