/** Stored firmware artifacts: their manifest, signature and content address. */
import type { Manifest, Signature } from '@outpost/protocol';
import type { OtaDb, OtaTables } from './ota-tables.js';

export interface ArtifactRecord {
  readonly id: string;
  readonly manifest: Manifest;
  readonly signature: Signature;
  readonly size: number;
  readonly sha256: string;
  readonly uploadedBy: string;
  readonly uploadedAt: number;
}

function fromRow(row: OtaTables['ota_artifacts']): ArtifactRecord {
  return {
    id: row.id,
    manifest: JSON.parse(row.manifest) as Manifest,
    signature: JSON.parse(row.signature) as Signature,
    size: row.size,
    sha256: row.sha256,
    uploadedBy: row.uploaded_by,
    uploadedAt: row.uploaded_at,
  };
}

export class ArtifactStore {
  readonly #db: OtaDb;

  constructor(db: OtaDb) {
    this.#db = db;
  }

  async get(id: string): Promise<ArtifactRecord | undefined> {
    const row = await this.#db.selectFrom('ota_artifacts').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  }

  /** Inserts; false when the id exists already. */
  async insert(record: ArtifactRecord): Promise<boolean> {
    const { manifest } = record;
    const result = await this.#db
      .insertInto('ota_artifacts')
      .values({
        id: record.id,
        name: manifest.name,
        version: manifest.version,
        type: manifest.type,
        size: record.size,
        sha256: record.sha256,
        manifest: JSON.stringify(manifest),
        signature: JSON.stringify(record.signature),
        uploaded_by: record.uploadedBy,
        uploaded_at: record.uploadedAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Newest first by upload time, then id; `after` is the last item's position. */
  async list(limit: number, after?: readonly [number, string]): Promise<ArtifactRecord[]> {
    let query = this.#db.selectFrom('ota_artifacts').selectAll().orderBy('uploaded_at', 'desc').orderBy('id', 'desc').limit(limit);
    if (after !== undefined) {
      const [at, id] = after;
      query = query.where((eb) => eb.or([eb('uploaded_at', '<', at), eb.and([eb('uploaded_at', '=', at), eb('id', '<', id)])]));
    }
    return (await query.execute()).map(fromRow);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('ota_artifacts').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async countBySha256(sha256: string): Promise<number> {
    const row = await this.#db.selectFrom('ota_artifacts').select((eb) => eb.fn.countAll<number>().as('n')).where('sha256', '=', sha256).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async count(): Promise<number> {
    const row = await this.#db.selectFrom('ota_artifacts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
