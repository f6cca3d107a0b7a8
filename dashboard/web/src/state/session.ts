import { computed, effect, signal } from '@preact/signals';
import type { Role } from '../api/types.js';

/** Who is signed in: the bearer token lives in memory and in sessionStorage (this tab only). */
export interface Session {
  readonly username: string;
  readonly token: string;
  readonly expiresAt: number;
  readonly role: Role;
}

const KEY = 'outpost.session';

function stored(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (raw === null) return undefined;
    const value = JSON.parse(raw) as Session;
    return typeof value.token === 'string' && value.expiresAt > Date.now() ? value : undefined;
  } catch {
    return undefined;
  }
}

export const session = signal<Session | undefined>(stored());
/** A message for the login page (why the user was sent back to it). */
export const loginNotice = signal<string | undefined>(undefined);

const RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };
export const canOperate = computed(() => session.value !== undefined && RANK[session.value.role] >= RANK.operator);
export const isAdmin = computed(() => session.value?.role === 'admin');

export function signIn(value: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(value));
  loginNotice.value = undefined;
  session.value = value;
}

export function signOut(notice?: string): void {
  sessionStorage.removeItem(KEY);
  loginNotice.value = notice;
  session.value = undefined;
}

// A session ends on time even when the page makes no call: back to login with a message.
// (setTimeout holds at most 2^31 - 1 ms: a longer session re-arms its timer until it is due.)
effect(() => {
  const current = session.value;
  if (current === undefined) return;
  let timer: ReturnType<typeof setTimeout>;
  const arm = (): void => {
    const left = current.expiresAt - Date.now();
    if (left <= 0) signOut('Your session expired. Sign in again.');
    else timer = setTimeout(arm, Math.min(left, 2_000_000_000));
  };
  arm();
  return () => clearTimeout(timer);
});
