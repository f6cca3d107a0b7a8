import { ApiFailure } from '../api/client.js';

/** A refused call as the server explained it: its message and each `{path, message}` detail. */
export function Problems({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const message = error instanceof Error ? error.message : String(error);
  const details = error instanceof ApiFailure ? error.details : [];
  return (
    <div role="alert" class="error" data-testid="problems">
      <p>{message}</p>
      {details.length > 0 && (
        <ul class="problems">
          {details.map((d) => (
            <li>
              {d.path !== undefined && d.path !== '' ? <code>{d.path}</code> : null} {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
