/**
 * A button that copies a text to the clipboard and says so. The Clipboard API exists only in a secure
 * context (https, localhost); a page over plain http on a LAN address copies through a selected
 * off-screen text area instead, and failing both it says how to copy by hand.
 */
import { useState } from 'preact/hooks';

/** Copies `text`; false when the browser allowed neither way. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.left = '-9999px';
    document.body.append(area);
    area.select();
    try {
      // Deprecated but the only way without the Clipboard API (plain http).
      return document.execCommand('copy');
    } catch {
      return false;
    } finally {
      area.remove();
    }
  }
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState('');
  const copy = async () => {
    setSaid(
      (await copyText(text)) ? 'Copied.' : 'Copying is not allowed here: select the text above and copy it.',
    );
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
