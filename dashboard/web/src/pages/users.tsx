import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.js';
import type { ApiToken, Page, Role, User } from '../api/types.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { Problems } from '../components/problems.js';
import { dateTime } from '../format.js';
import { session } from '../state/session.js';

const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** Operator accounts and API tokens (admins only; the server refuses everyone else too). */
export default function UsersPage() {
  return (
    <section aria-labelledby="users-title" class="stack">
      <h1 id="users-title">Users and API tokens</h1>
      <div class="grid2">
        <Users />
        <Tokens />
      </div>
    </section>
  );
}

function Users() {
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const load = (): void => {
    api<Page<User>>('GET', '/users?limit=1000').then((p) => setUsers(p.items), setError);
  };
  useEffect(load, []);
  const create = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    try {
      await api('POST', '/users', { username, password, role });
      setUsername('');
      setPassword('');
      load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="panel stack">
      <h2>Users</h2>
      <form class="row" onSubmit={(e) => void create(e)} aria-label="New user">
        <label>
          Username
          <input required autocomplete="off" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          Password (12+ characters)
          <input required type="password" autocomplete="new-password" minLength={12} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create user</button>
      </form>
      <Problems error={error} />
      <table class="plain" aria-label="Users">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr>
              <td>{u.username}</td>
              <td>{u.role}</td>
              <td>{dateTime(u['createdAt'] as number | undefined)}</td>
              <td>
                {u.username !== session.value?.username && (
                  <ConfirmButton
                    danger
                    label="Delete"
                    question={`Delete ${u.username} and their tokens?`}
                    onConfirm={async () => {
                      await api('DELETE', `/users/${encodeURIComponent(u.username)}`).catch(setError);
                      load();
                    }}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Tokens() {
  const [tokens, setTokens] = useState<ApiToken[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [shown, setShown] = useState<string | undefined>(undefined);
  const load = (): void => {
    api<Page<ApiToken>>('GET', '/api-tokens?limit=1000').then((p) => setTokens(p.items), setError);
  };
  useEffect(load, []);
  const create = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    try {
      const created = await api<{ token: string }>('POST', '/api-tokens', { name, role });
      setShown(created.token);
      setName('');
      load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="panel stack">
      <h2>API tokens</h2>
      <form class="row" onSubmit={(e) => void create(e)} aria-label="New API token">
        <label>
          Name
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create token</button>
      </form>
      {shown !== undefined && (
        <div role="status">
          <p>The token, shown only now:</p>
          <pre data-testid="api-token">{shown}</pre>
        </div>
      )}
      <Problems error={error} />
      <table class="plain" aria-label="API tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">By</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>{String(t['createdBy'] ?? '')}</td>
              <td>
                <ConfirmButton
                  danger
                  label="Revoke"
                  question={`Revoke ${t.name}?`}
                  onConfirm={async () => {
                    await api('DELETE', `/api-tokens/${encodeURIComponent(t.id)}`).catch(setError);
                    load();
                  }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
