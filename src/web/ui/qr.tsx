/**
 * A QR code as an SVG drawn by Preact from `uqr`'s module matrix (no inline script or HTML string, so
 * the page's CSP holds). Always dark on light with a quiet zone, so phones scan it in dark mode too.
 */
import { encode } from 'uqr';

/** The SVG path of the dark modules: one `h1v1h-1z` square per module, in module units. */
export function qrPath(text: string): { size: number; path: string } {
  const { size, data } = encode(text, { ecc: 'M', border: 2 });
  let path = '';
  for (let y = 0; y < size; y++) {
    const row = data[y] ?? [];
    for (let x = 0; x < size; x++) if (row[x]) path += `M${x} ${y}h1v1h-1z`;
  }
  return { size, path };
}

export function QrCode({ text, label }: { text: string; label: string }) {
  let drawn: { size: number; path: string };
  try {
    drawn = qrPath(text);
  } catch {
    return <p class="muted">This is too long for one QR code; copy it instead.</p>;
  }
  return (
    <svg
      class="qr"
      role="img"
      aria-label={label}
      viewBox={`0 0 ${drawn.size} ${drawn.size}`}
      shape-rendering="crispEdges"
    >
      <rect width={drawn.size} height={drawn.size} fill="#fff" />
      <path d={drawn.path} fill="#000" />
    </svg>
  );
}
