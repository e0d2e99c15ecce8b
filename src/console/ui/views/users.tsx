import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorText, seg } from '../api.ts';
import type { Page, User } from '../api-types.ts';
import { Notice } from '../components/common.tsx';
import { useConfirm } from '../components/confirm.tsx';
import { useGet } from '../components/use-get.ts';

const splitRoles = (s: string): string[] =>
  s
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');

/** The users file's users (security on): list, add, change password or roles, remove. */
export function UsersView(props: { self: string | undefined }): JSX.Element {
  const list = useGet<Page<User>>('/users?limit=1000');
  const users = list.data?.items;
  const [failed, setError] = useState<string | undefined>(undefined);
  const error = failed ?? list.error;
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState('');
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const [dialog, ask] = useConfirm();

  const run = async (what: () => Promise<unknown>, done: string): Promise<boolean> => {
    try {
      await what();
      setInfo(done);
      setError(undefined);
      list.reload();
      return true;
    } catch (e) {
      setError(errorText(e));
      setInfo(undefined);
      return false;
    }
  };
  const add = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (await run(() => api('POST', '/users', { name, password, roles: splitRoles(roles) }), `User ${name} added.`)) {
      setName('');
      setPassword('');
      setRoles('');
    }
  };
  const remove = async (u: User): Promise<void> => {
    if (!(await ask({ title: `Remove user ${u.name}?`, body: u.name === props.self ? <p>This is you: you will be logged out at the next request.</p> : undefined, confirm: 'Remove user' }))) return;
    await run(() => api('DELETE', `/users/${seg(u.name)}`), `User ${u.name} removed.`);
  };

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <Notice error={error} info={info} />
      <form class="toolbar" aria-label="Add user" onSubmit={(e) => void add(e)}>
        <label>
          User name
          <input required autocomplete="off" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          New user password
          <input required type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <label>
          Roles
          <input placeholder="admin, ops" value={roles} onInput={(e) => setRoles(e.currentTarget.value)} />
        </label>
        <button type="submit">Add user</button>
      </form>
      <table aria-label="Users">
        <thead>
          <tr>
            <th>User</th>
            <th>Roles</th>
            <th>Logs in with</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {users?.map((u) => (
            <tr key={u.name}>
              <td>{u.name}</td>
              <td>{u.roles.join(', ')}</td>
              <td>{[u.password !== false ? 'password' : '', ...(u.certificates ?? []).map((c) => `certificate ${c}`)].filter(Boolean).join(', ')}</td>
              <td>
                {editing === u.name ? (
                  <EditUser user={u} onCancel={() => setEditing(undefined)} onSave={(body) => void run(() => api('PUT', `/users/${seg(u.name)}`, body), `User ${u.name} changed.`).then((ok) => ok && setEditing(undefined))} />
                ) : (
                  <span class="row-actions">
                    <button type="button" aria-label={`Change ${u.name}`} onClick={() => setEditing(u.name)}>
                      Change
                    </button>
                    <button type="button" class="danger" aria-label={`Remove ${u.name}`} onClick={() => void remove(u)}>
                      Remove
                    </button>
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {dialog}
    </section>
  );
}

/** Inline form: a new password (blank: unchanged) and the roles. */
function EditUser(props: { user: User; onSave: (body: { password?: string; roles: string[] }) => void; onCancel: () => void }): JSX.Element {
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState(props.user.roles.join(', '));
  return (
    <form
      class="inline"
      aria-label={`Change user ${props.user.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave(password === '' ? { roles: splitRoles(roles) } : { password, roles: splitRoles(roles) });
      }}
    >
      <label>
        Password
        <input type="password" autocomplete="new-password" placeholder="unchanged" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <label>
        Roles
        <input value={roles} onInput={(e) => setRoles(e.currentTarget.value)} />
      </label>
      <button type="submit">Save</button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}
