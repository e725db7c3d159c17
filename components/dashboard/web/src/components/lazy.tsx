// Components that load on first use, each in its own chunk, so they stay out
// of the first page load: the views other than the board, and forms.
import { h, type ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './ui';

/** A component that renders `load()`'s component once it has loaded (a spinner before, the error if it fails). */
export function lazyComponent<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  return function Lazy(props: P) {
    const [, setTick] = useState(0);
    const [error, setError] = useState<unknown>(null);
    useEffect(() => {
      if (loaded) return;
      let live = true;
      pending ??= load();
      pending
        .then((c) => {
          loaded = c;
          if (live) setTick((t) => t + 1);
        })
        .catch((e: unknown) => {
          pending = null;
          if (live) setError(e);
        });
      return () => {
        live = false;
      };
    }, []);
    if (loaded) return h(loaded, props);
    if (error) return <ErrorBox error={error} title="This part of the page could not be loaded" />;
    return <Loading />;
  };
}
