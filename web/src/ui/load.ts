// Data a page shows, loaded from the API and loaded again after any change the app makes
// (changed()), so that no page needs a reload to show what a form just did — the balance in the
// header included.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { ApiError, type ApiProblem } from '../api/client';

let version = 0;
const listeners = new Set<() => void>();

/** Call after a successful write: every page and panel on screen loads its data again. */
export function changed(): void {
  version += 1;
  for (const listener of listeners) listener();
}

export type Loaded<T> = { status: 'loading' } | { status: 'failed'; problem: ApiProblem } | { status: 'ready'; data: T; refreshing: boolean };

export function problemOf(error: unknown): ApiProblem {
  if (error instanceof ApiError) return error.problem;
  return { code: 0, message: error instanceof Error ? error.message : String(error), data: [] };
}

/**
 * Runs `load` now, whenever `deps` change, and after every changed(); keeps the last data on screen
 * while a new load runs, and drops answers that arrive after a newer load started.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ status: 'loading' });
  const [seen, setSeen] = useState(version);
  const latest = useRef(0);
  // The caller's deps decide when load is a new function, as with useCallback.
  const run = useCallback(load, deps);
  useEffect(() => {
    const listener = (): void => {
      setSeen(version);
    };
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  useEffect(() => {
    const ticket = ++latest.current;
    setState((previous) => (previous.status === 'ready' ? { ...previous, refreshing: true } : { status: 'loading' }));
    run().then(
      (data) => {
        if (ticket === latest.current) setState({ status: 'ready', data, refreshing: false });
      },
      (error: unknown) => {
        if (ticket === latest.current) setState({ status: 'failed', problem: problemOf(error) });
      },
    );
  }, [run, seen]);
  return state;
}
