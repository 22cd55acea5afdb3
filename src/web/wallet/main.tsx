/** The web wallet's entry: mounts the app (placeholder until the wallet pages land). */
import { render } from 'preact';
import { formatMoney } from '../../core/money-format.js';

function App() {
  return (
    <main>
      <h1>lancash wallet</h1>
      <p>{formatMoney(0, 'eur')}</p>
    </main>
  );
}

render(<App />, document.getElementById('app')!);
