import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, upload } from '../api/client.js';
import type { Artifact, Page } from '../api/types.js';
import { Problems } from '../components/problems.js';
import { bytes, dateTime } from '../format.js';
import { canOperate, isAdmin } from '../state/session.js';

/** Firmware artifacts with their signer and hardware; a rollout starts from one. */
export default function FirmwarePage() {
  const [artifacts, setArtifacts] = useState<Artifact[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const load = (): void => {
    api<Page<Artifact>>('GET', '/firmware?limit=500').then((p) => setArtifacts(p.items), setError);
  };
  useEffect(load, []);
  return (
    <section aria-labelledby="fw-title" class="stack">
      <h1 id="fw-title">Firmware</h1>
      <p class="muted">
        Artifacts are signed offline with <code>outpost firmware sign</code>, then uploaded here (admins) or with <code>outpost firmware upload</code>.
      </p>
      {isAdmin.value && <UploadForm onUploaded={load} />}
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

interface SignedFile {
  readonly manifest: { readonly name: string; readonly version: string; readonly size: number; readonly [key: string]: unknown };
  readonly signature: { readonly keyId: string; readonly sig: string };
}

/** The `{manifest, signature}` file `outpost firmware sign` writes, or a sentence saying why not. */
function readSigned(text: string): SignedFile | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the signed manifest is not JSON: pick the file outpost firmware sign wrote (--out)';
  }
  const v = value as Partial<SignedFile> | null;
  const m = v?.manifest;
  const sig = v?.signature;
  if (typeof m !== 'object' || m === null || typeof sig !== 'object' || sig === null || typeof sig.keyId !== 'string' || typeof sig.sig !== 'string') {
    return 'the signed manifest must be {manifest, signature} as outpost firmware sign writes it';
  }
  if (typeof m.name !== 'string' || typeof m.version !== 'string' || typeof m.size !== 'number') return 'the manifest has no name, version or size';
  return v as SignedFile;
}

/**
 * Upload (admins): the signed manifest file and the artifact, sent as `POST /firmware` reads them
 * (manifest, signature, then the artifact's bytes), with a progress bar. The server checks the
 * signer, size, chunks and SHA-256 while the bytes arrive; its refusal is shown as it said it.
 */
function UploadForm({ onUploaded }: { onUploaded: () => void }) {
  const [signedFile, setSignedFile] = useState<File | undefined>(undefined);
  const [artifact, setArtifact] = useState<File | undefined>(undefined);
  const [progress, setProgress] = useState<{ sent: number; total: number } | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setProblem(undefined);
    setDone(undefined);
    if (signedFile === undefined || artifact === undefined) {
      setProblem('pick both files: the signed manifest (.json) and the artifact');
      return;
    }
    const signed = readSigned(await signedFile.text());
    if (typeof signed === 'string') {
      setProblem(signed);
      return;
    }
    if (signed.manifest.size !== artifact.size) {
      setProblem(`${artifact.name} is ${String(artifact.size)} bytes, the manifest says ${String(signed.manifest.size)}: is it the file that was signed?`);
      return;
    }
    const form = new FormData();
    form.append('manifest', JSON.stringify(signed.manifest));
    form.append('signature', JSON.stringify(signed.signature));
    form.append('artifact', artifact, artifact.name);
    setBusy(true);
    setProgress({ sent: 0, total: artifact.size });
    try {
      const answer = await upload<Artifact>('/firmware', form, (sent, total) => setProgress({ sent, total }));
      setDone(`${answer.body.name}@${answer.body.version} ${answer.status === 201 ? 'uploaded' : 'was already stored'} (${answer.body.id}), signed by ${answer.body.keyId}.`);
      onUploaded();
    } catch (err) {
      setProblem(err instanceof ApiFailure && err.code !== 'NETWORK' && !err.code.startsWith('HTTP_') ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const percent = progress === undefined || progress.total === 0 ? 0 : Math.min(100, Math.round((100 * progress.sent) / progress.total));
  return (
    <form class="panel stack" aria-label="Upload firmware" onSubmit={(e) => void submit(e)}>
      <h2>Upload firmware</h2>
      <span class="row">
        <label>
          Signed manifest (.json)
          <input type="file" accept="application/json,.json" required onChange={(e) => setSignedFile(e.currentTarget.files?.[0])} />
        </label>
        <label>
          Artifact
          <input type="file" required onChange={(e) => setArtifact(e.currentTarget.files?.[0])} />
        </label>
        <button type="submit" disabled={busy}>
          Upload
        </button>
      </span>
      {progress !== undefined && (
        <label>
          Upload progress
          <progress max={100} value={percent} style={{ width: 'min(24rem, 100%)', display: 'block' }} data-testid="upload-progress" aria-valuetext={`${String(percent)} %, ${bytes(progress.sent)} of ${bytes(progress.total)}`} />
          <span class="muted">
            {' '}
            {percent} % · {bytes(progress.sent)} of {bytes(progress.total)}
          </span>
        </label>
      )}
      {problem !== undefined && (
        <p role="alert" class="error" data-testid="upload-problem">
          {problem}
        </p>
      )}
      {done !== undefined && (
        <p role="status" data-testid="upload-done">
          {done}
        </p>
      )}
    </form>
  );
}
