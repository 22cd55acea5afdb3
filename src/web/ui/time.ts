/** Times as people read them on the pages: a moment (`5 Dec 2026, 13:52:06`) and an age (`3 min`). */

/** A unix-ms moment in the reader's locale and time zone, to the second. */
export function formatTime(ms: number, locale?: string, timeZone?: string): string {
  return new Date(ms).toLocaleString(locale, {
    dateStyle: 'medium',
    timeStyle: 'medium',
    ...(timeZone !== undefined ? { timeZone } : {}),
  });
}

/** How long ago `since` was at `now`, rounded down: `12 s`, `4 min`, `2 h 5 min`, `3 days`. */
export function formatAge(since: number, now: number): string {
  const s = Math.max(0, Math.floor((now - since) / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} days`;
}
