/** The web wallet's entry (docs/web.md "The wallet page"): mounts the app. */
import { render } from 'preact';
import { App } from './app.js';

const root = document.getElementById('app');
if (root) render(<App />, root);
