/**
 * The operator console (docs/web.md, "The operator console"), served at `/operator` by the gateway's
 * LAN listener: sign-in with the operator token (kept in `sessionStorage`), then hash-routed pages —
 * Overview, Jobs, Terminal history, Payroll, Keysets, Audit — over the operator API (`api.ts`).
 */
import 'uplot/dist/uPlot.min.css';
import './console.css';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { isLancashError } from '../../core/errors.js';
import { call } from '../../core/http/client.js';
import { WEB_CONFIG_PATH, WebConfig } from '../../core/http/web-config.js';
import { errorSentence } from '../ui/messages.js';
import { useHashRoute } from '../ui/route.js';
import { OperatorApi } from './api.js';
import { type Console, ConsoleContext } from './context.js';
import { AuditPage } from './pages/audit.js';
import { HistoryPage } from './pages/history.js';
import { JobsPage } from './pages/jobs.js';
import { KeysetsPage } from './pages/keysets.js';
import { OverviewPage } from './pages/overview.js';
import { PayrollPage } from './pages/payroll.js';
import { clearToken, loadToken, saveToken } from './session.js';

const PAGES = [
  { path: 'overview', title: 'Overview', Page: OverviewPage },
  { path: 'jobs', title: 'Jobs', Page: JobsPage },
  { path: 'history', title: 'Terminal history', Page: HistoryPage },
  { path: 'payroll', title: 'Payroll', Page: PayrollPage },
  { path: 'keysets', title: 'Keysets', Page: KeysetsPage },
  { path: 'audit', title: 'Audit', Page: AuditPage },
] as const;

/** Where the token is, for every message that asks for it. */
const WHERE_TOKEN =
  'It is in the file operator.token in the gateway’s data directory (the demo prints it at start, and keeps it ' +
  'in data/demo/gateway/operator.token): copy it whole and paste it here.';
const WRONG_TOKEN = `That operator token was not accepted. ${WHERE_TOKEN}`;

function App() {
  const [token, setToken] = useState(loadToken);
  const [signInError, setSignInError] = useState<string | undefined>(undefined);
  const [unit, setUnit] = useState<string | undefined>(undefined);
  // Without the page config the unit is unknown: amounts are never shown in a guessed currency.
  const [configError, setConfigError] = useState<string | undefined>(undefined);
  const path = useHashRoute().slice(1);
  const route = PAGES.some((p) => p.path === path) ? path : 'overview';

  useEffect(() => {
    call({ base: location.origin, method: 'GET', path: WEB_CONFIG_PATH, schema: WebConfig }).then(
      (c) => setUnit(c.unit),
      (e: unknown) => setConfigError(errorSentence(e)),
    );
  }, []);

  const signOut = (why?: string) => {
    clearToken();
    setToken(undefined);
    setSignInError(why);
  };

  const ctx = useMemo<Console | undefined>(() => {
    if (token === undefined || unit === undefined) return undefined;
    return {
      api: new OperatorApi(token),
      unit,
      say: (e) => {
        if (isLancashError(e, 'OperatorUnauthorized')) {
          // A token changed under an open tab (the gateway restarted with another): back to sign-in.
          signOut(WRONG_TOKEN);
          return WRONG_TOKEN;
        }
        return errorSentence(e);
      },
    };
  }, [token, unit]);

  const page = PAGES.find((p) => p.path === route) ?? PAGES[0];
  useEffect(() => {
    document.title = ctx ? `${page.title} · lancash operator console` : 'Sign in · lancash operator console';
  }, [ctx, page]);

  return (
    <>
      <header class="top">
        <p class="brand">lancash · operator console</p>
        {ctx && (
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        )}
      </header>
      {configError !== undefined ? (
        <main>
          <h1>The console cannot start</h1>
          <p class="bad" role="alert">
            It could not read its settings from the gateway. {configError} Then reload the page.
          </p>
        </main>
      ) : token !== undefined && ctx === undefined ? (
        <main>
          <p class="muted">Loading…</p>
        </main>
      ) : ctx ? (
        <ConsoleContext.Provider value={ctx}>
          <nav class="tabs" aria-label="Console pages">
            {PAGES.map((p) => (
              <a key={p.path} href={`#/${p.path}`} aria-current={p.path === page.path ? 'page' : undefined}>
                {p.title}
              </a>
            ))}
          </nav>
          <main>
            <page.Page />
          </main>
        </ConsoleContext.Provider>
      ) : (
        <main>
          <SignIn
            error={signInError}
            onSignedIn={(t) => {
              saveToken(t);
              setSignInError(undefined);
              setToken(t);
            }}
          />
        </main>
      )}
    </>
  );
}

function SignIn(props: { error: string | undefined; onSignedIn: (token: string) => void }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(props.error);
  useEffect(() => setError(props.error), [props.error]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const token = text.trim();
    if (token === '') {
      setError(`Type the operator token first. ${WHERE_TOKEN}`);
      return;
    }
    setBusy(true);
    try {
      await new OperatorApi(token).check();
      props.onSignedIn(token);
    } catch (err) {
      setError(isLancashError(err, 'OperatorUnauthorized') ? WRONG_TOKEN : errorSentence(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} class="signin">
      <h1>Sign in</h1>
      <p>
        The console is for the gateway’s operator. Sign in with the operator token; it is kept in this tab
        only, until you close it or sign out.
      </p>
      <label for="token">Operator token</label>
      <input
        id="token"
        type="password"
        autocomplete="off"
        spellcheck={false}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        aria-describedby={error ? 'signin-error' : undefined}
        aria-invalid={error ? true : undefined}
      />
      {error && (
        <p id="signin-error" class="bad" role="alert">
          {error}
        </p>
      )}
      <div class="row">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </div>
    </form>
  );
}

render(<App />, document.getElementById('app')!);
