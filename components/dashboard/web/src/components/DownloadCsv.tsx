// "Download CSV" for any list or report the API exports as text/csv: fetches
// it with the user's token (every page, via the Link header) and saves it.
import { useState } from 'preact/hooks';
import { describeError, downloadCsv, type PathsWith } from '../api/client';

/** The path and query parameters of the export's GET (as for `get`). */
type GetOptions<P extends PathsWith<'get'>> = Parameters<typeof downloadCsv<P>>[2];

export function DownloadCsv<P extends PathsWith<'get'>>({
  path,
  filename,
  options,
  label = 'Download CSV',
  what,
}: {
  path: P;
  filename: string;
  options?: GetOptions<P>;
  label?: string;
  /** What is downloaded, added to the button's accessible name where several share a view. */
  what?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await downloadCsv(path, filename, options);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="download-csv">
      <button type="button" class="btn btn-small btn-ghost" disabled={busy} onClick={run} title={`Save as ${filename}`}>
        <span aria-hidden="true">⤓ </span>
        {busy ? 'Preparing…' : label}
        {what ? <span class="sr-only"> of {what}</span> : null}
      </button>
      {error ? (
        <span class="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </span>
  );
}
