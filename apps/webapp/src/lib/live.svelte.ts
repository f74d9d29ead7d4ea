import { liveQuery } from 'dexie';

/**
 * A Dexie liveQuery as a runes-friendly value. `deps` is read inside an effect, so the query
 * re-subscribes when the reactive values it returns change (a route parameter, say). Call it
 * while a component initialises.
 */
export function live<T, D = void>(
  query: (deps: D) => Promise<T>,
  initial: T,
  deps?: () => D,
): { readonly value: T; readonly loaded: boolean; readonly error: string | null } {
  let value = $state.raw(initial);
  let loaded = $state(false);
  let error = $state<string | null>(null);
  $effect(() => {
    const current = (deps ? deps() : undefined) as D;
    const subscription = liveQuery(() => query(current)).subscribe({
      next: (next) => {
        value = next;
        loaded = true;
        error = null;
      },
      error: (failure: unknown) => {
        error = (failure as Error)?.message ?? String(failure);
        loaded = true;
      },
    });
    return () => subscription.unsubscribe();
  });
  return {
    get value() {
      return value;
    },
    get loaded() {
      return loaded;
    },
    get error() {
      return error;
    },
  };
}
