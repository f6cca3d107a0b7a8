import { signal, type Signal } from '@preact/signals';
import type { ComponentType } from 'preact';

/**
 * A page loaded on first use (its own chunk): the first render needs only the shell, the
 * login and the fleet (the budget counts what loads before the first page renders).
 */
export function lazyPage<P extends object>(load: () => Promise<{ default: ComponentType<P> }>): ComponentType<P> {
  const loaded: Signal<ComponentType<P> | undefined> = signal(undefined);
  const failed = signal<string | undefined>(undefined);
  let started = false;
  return function LazyPage(props: P) {
    if (!started) {
      started = true;
      load().then(
        (m) => (loaded.value = m.default),
        (err: unknown) => (failed.value = err instanceof Error ? err.message : String(err)),
      );
    }
    if (failed.value !== undefined) return <p role="alert" class="error">This page could not be loaded ({failed.value}). Reload to try again.</p>;
    const Page = loaded.value;
    return Page === undefined ? <p class="muted" aria-busy="true">Loading…</p> : <Page {...props} />;
  };
}
