/** A button that copies a text to the clipboard and says so (or says how to copy it by hand). */
import { useState } from 'preact/hooks';

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setSaid('Copied.');
    } catch {
      // Clipboard refused (plain http on another host, or permissions): the text is on the page to select.
      setSaid('Copying is not allowed here: select the text above and copy it.');
    }
  };
  return (
    <span class="copy">
      <button type="button" onClick={copy}>
        {label}
      </button>{' '}
      <span role="status" class="muted">
        {said}
      </span>
    </span>
  );
}
