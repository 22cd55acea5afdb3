/**
 * The wallet page's shell: reads the server's page config, opens the wallet of this browser (settling
 * what a closed tab left open before the balance is shown), or welcomes a first visit; then the
 * pages behind hash routes, and the inbox drained live while the page is visible, each arrival
 * announced in words.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { isLancashError } from '../../core/errors.js';
import type { RecoverSummary, Wallet } from '../../wallet/index.js';
import { ErrorMessage, Message } from '../ui/message.js';
import { useHashRoute } from '../ui/route.js';
import type { Arrivals, PageProps } from './context.js';
import { History } from './history.js';
import { Home } from './home.js';
import { Receive } from './receive.js';
import { Send } from './send.js';
import { loadPageConfig, openWallet, type PageConfig, serial, watchInbox } from './session.js';
import { Settings } from './settings.js';
import { walletStorage } from './storage.js';
import { Tokens } from './tokens.js';
import { Welcome } from './welcome.js';
import { historyLine, receivedSentence } from './words.js';

type State =
  | { at: 'loading' }
  | { at: 'broken'; error: unknown }
  | { at: 'elsewhere'; config: PageConfig; lost: boolean }
  | { at: 'locked'; config: PageConfig; error?: unknown }
  | { at: 'welcome'; config: PageConfig }
  | { at: 'open'; config: PageConfig; wallet: Wallet; recovered?: RecoverSummary };

export function App() {
  const [state, setState] = useState<State>({ at: 'loading' });
  const [passphrase, setPassphrase] = useState<string | undefined>(undefined);

  const start = useCallback(async (config: PageConfig, pass?: string, takeOver = false) => {
    const storage = walletStorage();
    try {
      // One tab at a time: two tabs must not run the same open send or its recovery at once. While
      // another tab has the wallet this waits, saying so, and goes on by itself when that tab lets
      // go (a reload's old page may still hold it for a moment); "Use it here" takes it at once.
      const held = await storage.claim({
        takeOver,
        onLost: () => setState({ at: 'elsewhere', config, lost: true }),
        onWaiting: () => setState({ at: 'elsewhere', config, lost: false }),
      });
      // Not held: a later claim of this page (the take-over) stopped this one's wait and goes on.
      if (!held) return;
      const here = await storage.inspect();
      if (!here.exists) return setState({ at: 'welcome', config });
      if (pass === undefined && here.encrypted) return setState({ at: 'locked', config });
      const { wallet, recovered } = await openWallet(pass);
      setPassphrase(pass);
      setState({ at: 'open', config, wallet, recovered });
    } catch (error) {
      const wrongPass = isLancashError(error, 'PassphraseWrong') || isLancashError(error, 'WalletLocked');
      setState(wrongPass ? { at: 'locked', config, error } : { at: 'broken', error });
    }
  }, []);

  useEffect(() => {
    loadPageConfig().then(
      (config) => start(config),
      (error: unknown) => setState({ at: 'broken', error }),
    );
  }, [start]);

  if (state.at === 'loading') {
    return (
      <main>
        <p role="status">Opening the wallet…</p>
      </main>
    );
  }
  if (state.at === 'broken') {
    return (
      <main>
        <h1>Wallet</h1>
        <ErrorMessage error={state.error} />
      </main>
    );
  }
  if (state.at === 'elsewhere') {
    return (
      <main>
        <h1>Wallet</h1>
        <Message kind="info">
          <p>
            {state.lost
              ? 'This wallet was opened in another tab, so this tab stopped using it.'
              : 'This wallet is open in another tab of this browser. This tab opens it by itself as soon as that tab is closed.'}
          </p>
          <p>A wallet is used in one tab at a time, so that no payment runs twice.</p>
        </Message>
        <button type="button" class="primary" onClick={() => start(state.config, passphrase, true)}>
          Use it here
        </button>
      </main>
    );
  }
  if (state.at === 'locked') return <Unlock state={state} unlock={(p) => start(state.config, p)} />;
  if (state.at === 'welcome') {
    return (
      <Welcome
        config={state.config}
        onReady={(wallet) => {
          location.hash = '#/';
          setState({ at: 'open', config: state.config, wallet });
        }}
      />
    );
  }
  return (
    <Shell
      config={state.config}
      wallet={state.wallet}
      recovered={state.recovered}
      passphrase={passphrase}
      passphraseChanged={setPassphrase}
      reopen={() => start(state.config, passphrase)}
      erased={() => {
        location.hash = '#/';
        setState({ at: 'welcome', config: state.config });
      }}
    />
  );
}

function Unlock({
  state,
  unlock,
}: {
  state: Extract<State, { at: 'locked' }>;
  unlock: (passphrase: string) => Promise<void>;
}) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main>
      <h1>Wallet</h1>
      <p>This wallet is protected by a passphrase.</p>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          await unlock(value);
          setBusy(false);
        }}
      >
        <label for="unlock">Passphrase</label>
        <input
          id="unlock"
          type="password"
          autocomplete="current-password"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        {state.error !== undefined && <ErrorMessage error={state.error} />}
        <p>
          <button type="submit" class="primary" disabled={busy}>
            Open the wallet
          </button>
        </p>
      </form>
    </main>
  );
}

const ROUTES = [
  ['/', 'Wallet'],
  ['/send', 'Send'],
  ['/receive', 'Receive'],
  ['/tokens', 'Tokens'],
  ['/history', 'History'],
  ['/settings', 'Settings'],
] as const;

function Shell({
  config,
  wallet,
  recovered,
  reopen,
  erased,
  passphrase,
  passphraseChanged,
}: {
  config: PageConfig;
  wallet: Wallet;
  recovered: RecoverSummary | undefined;
  reopen: () => Promise<void>;
  erased: () => void;
  passphrase: string | undefined;
  passphraseChanged: (p: string | undefined) => void;
}) {
  const route = useHashRoute();
  const [version, setVersion] = useState(0);
  const changed = useCallback(() => setVersion((v) => v + 1), []);
  const [arrivals, setArrivals] = useState<Arrivals>({ received: [] });
  const [news, setNews] = useState<string[]>([]);
  const unit = wallet.config.unit;
  // A wallet replaced (reopened, erased, taken by another tab) stops settling in the background.
  useEffect(() => () => wallet.close(), [wallet]);

  useEffect(() => {
    if (recovered && recovered.settled.length > 0) {
      setNews(
        recovered.settled.map((op) => {
          const l = historyLine(op, unit);
          return `Settled from your last visit: ${l.what}, ${l.amount}, ${l.state}.`;
        }),
      );
    }
  }, [recovered, unit]);

  // The inbox, drained live: once at load, then on each arrival the mailbox announces.
  useEffect(() => {
    const stop = new AbortController();
    let running: Promise<void> | undefined;
    let again = false;
    const drainOnce = async () => {
      try {
        const r = await serial(() => wallet.receive());
        if (stop.signal.aborted) return;
        const got = [...r.received, ...r.refused];
        setArrivals((a) => ({ received: [...got.reverse(), ...a.received], checkedAt: Date.now() }));
        if (got.length > 0 || r.notices > 0) {
          setNews((n) => [...got.map((op) => receivedSentence(op, unit)), ...n].slice(0, 5));
          changed();
        }
      } catch (problem) {
        if (!stop.signal.aborted) setArrivals((a) => ({ ...a, checkedAt: Date.now(), problem }));
      }
    };
    // One drain at a time; an arrival announced during one drains once more after it.
    const drain = async (): Promise<void> => {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        do {
          again = false;
          await drainOnce();
        } while (again && !stop.signal.aborted);
      })();
      await running;
      running = undefined;
    };
    watchInbox(wallet, drain, stop.signal);
    return () => stop.abort();
  }, [wallet, unit, changed]);

  const props: PageProps = { wallet, config, version, changed };
  const page = (() => {
    switch (route) {
      case '/send':
        return <Send {...props} />;
      case '/receive':
        return <Receive {...props} arrivals={arrivals} />;
      case '/tokens':
        return <Tokens {...props} />;
      case '/history':
        return <History {...props} />;
      case '/settings':
        return (
          <Settings
            {...props}
            reopen={reopen}
            erased={erased}
            passphrase={passphrase}
            passphraseChanged={passphraseChanged}
          />
        );
      default:
        return <Home {...props} />;
    }
  })();

  return (
    <main>
      <nav class="tabs" aria-label="Wallet pages">
        {ROUTES.map(([path, name]) => (
          <a key={path} href={`#${path}`} aria-current={route === path ? 'page' : undefined}>
            {name}
          </a>
        ))}
      </nav>
      <div role="status">
        {news.length > 0 && (
          <div class="message ok">
            {news.map((line, i) => (
              <p key={i}>{line}</p>
            ))}
            <button type="button" onClick={() => setNews([])}>
              Dismiss
            </button>
          </div>
        )}
      </div>
      {page}
    </main>
  );
}
