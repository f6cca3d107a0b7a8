import type { Kysely } from 'kysely';
import type { RegistryTables } from './tables.js';

/** The registry's view of the state database (or of a transaction on it). */
export type RegistryDb = Kysely<RegistryTables>;

/** Reads a JSON column written by this part; a damaged value reads as `fallback`. */
export function readJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function stringMap(text: string | null): Record<string, string> {
  const value = readJson<unknown>(text, {});
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
