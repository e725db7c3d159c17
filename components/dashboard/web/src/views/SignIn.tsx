// Sign-in with an API token, checked with GET /api/me and kept in sessionStorage.
import { useState } from 'preact/hooks';
import { signIn, signOutReason } from '../auth';
import { ErrorBox } from '../components/ui';

export function SignIn() {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <div class="signin">
      <form
        class="panel signin-card"
        aria-labelledby="signin-title"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!value.trim()) return;
          setBusy(true);
          setError(null);
          try {
            await signIn(value);
            setValue('');
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1 id="signin-title">Sign in to opsflow</h1>
        <p class="muted">
          Paste the API token you were given. It is kept for this browser tab only and cleared when you sign out or close
          the tab.
        </p>
        {signOutReason.value ? (
          <p class="notice notice-info" role="status">
            {signOutReason.value}
          </p>
        ) : null}
        <label class="field field-wide">
          <span class="field-label">API token</span>
          <input
            type="password"
            name="token"
            autoComplete="off"
            spellcheck={false}
            required
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        {error ? <ErrorBox error={error} title="Sign-in failed" /> : null}
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </div>
  );
}
