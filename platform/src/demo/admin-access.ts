/**
 * The demo's admin access: an API token for its own in-process calls (revoked on exit), and
 * what the banner can say about the admin password — the one the platform just generated, the
 * one from OUTPOST_ADMIN_PASSWORD when it still works, a newly set one (--reset-admin-password),
 * or nothing (a reused data dir: it was shown once, when it was created).
 */
import { Writable } from 'node:stream';
import { OutpostError } from '@outpost/protocol';
import { generatePassword } from '../operators/generate-password.js';
import type { OperatorService } from '../operators/operator-service.js';
import type { Principal } from '@outpost/kernel';

export type AdminPassword =
  | { readonly kind: 'generated' | 'env' | 'reset'; readonly username: string; readonly password: string }
  | { readonly kind: 'unknown'; readonly username: string };

/** Collects what the platform prints for the person at the terminal (the one-time admin password notice). */
export class NoticeCapture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }

  /** The password of the platform's "initial admin account created" notice, if it printed one. */
  generatedPassword(): string | undefined {
    return /shown only once:\s*\n\s*\n {4}(\S+)\s*$/m.exec(this.text)?.[1];
  }
}

/** The admin principal the demo acts as: `admin` when it is still an admin, else the first admin. */
export async function findAdmin(operators: OperatorService): Promise<Principal> {
  const users = await operators.listUsers({ limit: 1000 });
  const admin = users.find((u) => u.username === 'admin' && u.role === 'admin') ?? users.find((u) => u.role === 'admin');
  if (admin === undefined) throw new OutpostError('DEMO_NO_ADMIN', 'the data dir has no admin user; the demo needs one to create its enrollment token and rules');
  return { username: admin.username, role: 'admin', via: 'session' };
}

export async function resolveAdminPassword(input: {
  operators: OperatorService;
  admin: Principal;
  generated: string | undefined;
  fromEnv: string | undefined;
  reset: boolean;
  /** Records the password reset in the audit log. */
  audit: (entry: { actor: string; action: string; target: string; outcome: 'success' }) => Promise<void>;
}): Promise<AdminPassword> {
  const { operators, admin } = input;
  if (input.reset) {
    const password = input.fromEnv ?? generatePassword();
    await operators.updateUser(admin.username, { password });
    await input.audit({ actor: 'outpost demo', action: 'users.update', target: admin.username, outcome: 'success' });
    return { kind: 'reset', username: admin.username, password };
  }
  if (input.generated !== undefined) return { kind: 'generated', username: admin.username, password: input.generated };
  if (input.fromEnv !== undefined) {
    const session = await operators.login(admin.username, input.fromEnv);
    if (session !== undefined) {
      await operators.logout(session.token);
      return { kind: 'env', username: admin.username, password: input.fromEnv };
    }
  }
  return { kind: 'unknown', username: admin.username };
}
