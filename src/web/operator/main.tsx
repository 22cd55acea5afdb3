/** The operator console's entry: mounts the app (placeholder until the console pages land). */
import { render } from 'preact';
import { formatMoney } from '../../core/money-format.js';

function App() {
  return (
    <main>
      <h1>lancash operator console</h1>
      <p>{formatMoney(0, 'eur')}</p>
    </main>
  );
}

render(<App />, document.getElementById('app')!);
