// A uPlot chart drawn into a div once its drawing code (a chunk of its own,
// out of the first page load) has arrived, redrawn when its data changes and
// torn down with the component; with the loading and error states around it.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './ui';

/** `load` resolves to a painter that draws `data` into a div and returns its teardown. */
export function LazyChart<T>({
  data,
  load,
  label,
  figureClass,
  hostClass,
  caption,
}: {
  data: T;
  load: () => Promise<(el: HTMLDivElement, data: T) => () => void>;
  label: string;
  figureClass: string;
  hostClass: string;
  caption: ComponentChildren;
}) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>(null);
  const [ready, setReady] = useState(false);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    let destroyed = false;
    let cleanup: (() => void) | null = null;
    load()
      .then((paint) => {
        if (destroyed) return;
        cleanup = paint(el, data);
        setReady(true);
      })
      .catch((e) => setError(e));
    return () => {
      destroyed = true;
      cleanup?.();
    };
  }, [data]);
  return (
    <figure class={figureClass}>
      {error ? <ErrorBox error={error} title="The chart could not be drawn" /> : null}
      {!ready && !error ? <Loading label="Drawing chart…" /> : null}
      <div ref={host} class={hostClass} role="img" aria-label={label} />
      <figcaption class="muted small">{caption}</figcaption>
    </figure>
  );
}
