import { useEffect, useState } from 'preact/hooks';
import { api, download } from '../api/client.js';
import type { CreatedEnrollmentToken, EnrollmentToken, Page } from '../api/types.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { Problems } from '../components/problems.js';
import { dateTime } from '../format.js';
import { canOperate } from '../state/session.js';

const TTLS: readonly [string, number][] = [
  ['1 hour', 3_600],
  ['24 hours', 86_400],
  ['7 days', 7 * 86_400],
  ['30 days', 30 * 86_400],
];

/** Enrollment: one-time tokens (shown once, with the enroll line to paste) and install bundles. */
export default function EnrollmentPage() {
  const [tokens, setTokens] = useState<EnrollmentToken[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<CreatedEnrollmentToken | undefined>(undefined);
  const load = (): void => {
    api<Page<EnrollmentToken>>('GET', '/enrollment-tokens?limit=200').then((p) => setTokens(p.items), setError);
  };
  useEffect(load, []);

  return (
    <section aria-labelledby="enroll-title" class="stack">
      <h1 id="enroll-title">Enrollment</h1>
      {canOperate.value ? (
        <div class="grid2">
          <TokenForm
            onCreated={(t) => {
              setCreated(t);
              load();
            }}
          />
          <BundleForm />
        </div>
      ) : (
        <p class="muted">Operators and admins create enrollment tokens and bundles.</p>
      )}
      {created !== undefined && <CreatedToken token={created} onDismiss={() => setCreated(undefined)} />}
      <Problems error={error} />
      <div class="panel" style={{ overflowX: 'auto' }}>
        <h2>Tokens</h2>
        {tokens === undefined ? (
          <p aria-busy="true">Loading…</p>
        ) : tokens.length === 0 ? (
          <p class="muted">No enrollment tokens.</p>
        ) : (
          <table class="plain" aria-label="Enrollment tokens">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Group</th>
                <th scope="col">Uses</th>
                <th scope="col">State</th>
                <th scope="col">Expires</th>
                <th scope="col">By</th>
                {canOperate.value && <th scope="col">Action</th>}
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr>
                  <td>{t.id}</td>
                  <td>{t.group}</td>
                  <td>
                    {t.uses} / {t.maxUses}
                  </td>
                  <td>{t.state}</td>
                  <td>{dateTime(t.expiresAt)}</td>
                  <td>{t.createdBy}</td>
                  {canOperate.value && (
                    <td>
                      {t.state === 'active' && (
                        <ConfirmButton
                          label="Revoke"
                          question="Revoke this token?"
                          onConfirm={async () => {
                            await api('DELETE', `/enrollment-tokens/${encodeURIComponent(t.id)}`).catch(setError);
                            load();
                          }}
                        />
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}

function TokenForm({ onCreated }: { onCreated: (t: CreatedEnrollmentToken) => void }) {
  const [group, setGroup] = useState('default');
  const [maxUses, setMaxUses] = useState(1);
  const [ttl, setTtl] = useState(86_400);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    try {
      onCreated(await api<CreatedEnrollmentToken>('POST', '/enrollment-tokens', { group, maxUses, ttlSeconds: ttl }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="panel stack" onSubmit={(e) => void submit(e)} aria-labelledby="token-title">
      <h2 id="token-title">New enrollment token</h2>
      <span class="row">
        <label>
          Group
          <input required value={group} onInput={(e) => setGroup(e.currentTarget.value)} />
        </label>
        <label>
          Devices (uses)
          <input type="number" min={1} required value={maxUses} onInput={(e) => setMaxUses(Number(e.currentTarget.value))} />
        </label>
        <label>
          Valid for
          <select value={String(ttl)} onChange={(e) => setTtl(Number(e.currentTarget.value))}>
            {TTLS.map(([label, s]) => (
              <option value={String(s)}>{label}</option>
            ))}
          </select>
        </label>
      </span>
      <Problems error={error} />
      <button type="submit">Create token</button>
    </form>
  );
}

function CreatedToken({ token, onDismiss }: { token: CreatedEnrollmentToken; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(token.enrollCommand);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div class="panel stack" role="status" data-testid="created-token">
      <h2>Token created — shown only now</h2>
      <p>On the device, run:</p>
      <pre class="wrap" data-testid="enroll-command">{token.enrollCommand}</pre>
      <p class="muted">
        Expires {dateTime(token.expiresAt)}. CA fingerprint <code>{token.caFingerprint}</code>
      </p>
      <span class="row">
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy enroll line'}
        </button>
        <button type="button" class="secondary" onClick={onDismiss}>
          Done
        </button>
      </span>
    </div>
  );
}

function BundleForm() {
  const [group, setGroup] = useState('default');
  const [allowLoopback, setAllowLoopback] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await download('/agent-bundles', { group, ...(allowLoopback ? { allowLoopback } : {}) }, `outpost-agent-${group}.tar.gz`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel stack" onSubmit={(e) => void submit(e)} aria-labelledby="bundle-title">
      <h2 id="bundle-title">Install bundle</h2>
      <p class="muted">The agent, its config, the CA and a one-time token for one device: copy it to the device's SD card and run its install script.</p>
      <label>
        Group
        <input required value={group} onInput={(e) => setGroup(e.currentTarget.value)} />
      </label>
      <label class="check">
        <input type="checkbox" checked={allowLoopback} onChange={(e) => setAllowLoopback(e.currentTarget.checked)} /> For a device on this machine (the server's public host may be a loopback address)
      </label>
      <Problems error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Building…' : 'Download bundle'}
      </button>
    </form>
  );
}
