import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.js';
import type { Artifact, Page } from '../api/types.js';
import { Problems } from '../components/problems.js';
import { bytes, dateTime } from '../format.js';
import { canOperate } from '../state/session.js';

/** Firmware artifacts with their signer and hardware; a rollout starts from one. */
export default function FirmwarePage() {
  const [artifacts, setArtifacts] = useState<Artifact[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    api<Page<Artifact>>('GET', '/firmware?limit=500').then((p) => setArtifacts(p.items), setError);
  }, []);
  return (
    <section aria-labelledby="fw-title" class="stack">
      <h1 id="fw-title">Firmware</h1>
      <p class="muted">
        Artifacts are signed offline and uploaded with <code>outpost firmware sign</code> and <code>outpost firmware upload</code>.
      </p>
      <Problems error={error} />
      {artifacts === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : artifacts.length === 0 ? (
        <p class="muted">No firmware uploaded yet.</p>
      ) : (
        <div class="panel" style={{ overflowX: 'auto' }}>
          <table class="plain" aria-label="Firmware">
            <thead>
              <tr>
                <th scope="col">Artifact</th>
                <th scope="col">Type</th>
                <th scope="col">Hardware</th>
                <th scope="col">Size</th>
                <th scope="col">Signed by key</th>
                <th scope="col">Uploaded</th>
                {canOperate.value && <th scope="col">Action</th>}
              </tr>
            </thead>
            <tbody>
              {artifacts.map((a) => (
                <tr data-artifact={a.id}>
                  <td>
                    <strong>
                      {a.name}@{a.version}
                    </strong>{' '}
                    <span class="muted">{a.id}</span>
                  </td>
                  <td>{a.type}</td>
                  <td>{a.hardware.join(', ')}</td>
                  <td>{bytes(a.size)}</td>
                  <td>
                    <code>{a.keyId}</code>
                  </td>
                  <td>
                    {dateTime(a.uploadedAt)} by {a.uploadedBy}
                  </td>
                  {canOperate.value && (
                    <td>
                      <a href={`/rollouts?artifact=${encodeURIComponent(a.id)}`}>Roll out…</a>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
