/**
 * The check that the seed words were written down (issue 9): after the words are shown once, the
 * person types three of them back by position before the wallet is made.
 */

/** `count` distinct positions (1-based, ascending) among `total` words. */
export function pickPositions(total: number, count = 3, random: () => number = Math.random): number[] {
  const left = Array.from({ length: total }, (_, i) => i + 1);
  const chosen: number[] = [];
  while (chosen.length < Math.min(count, total)) {
    const i = Math.floor(random() * left.length);
    chosen.push(...left.splice(i, 1));
  }
  return chosen.sort((a, b) => a - b);
}

/** The words of a seed phrase, as typed or shown: lower case, single spaces. */
export function splitWords(words: string): string[] {
  const trimmed = words.trim().toLowerCase();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

/** The positions whose typed word does not match (empty: the check passed). */
export function wrongPositions(words: string, answers: Readonly<Record<number, string>>): number[] {
  const list = splitWords(words);
  return Object.keys(answers)
    .map(Number)
    .filter((p) => (answers[p] ?? '').trim().toLowerCase() !== list[p - 1])
    .sort((a, b) => a - b);
}

/** The mismatch in words: "Word 7 does not match", "Words 2, 7 and 9 do not match". */
export function mismatchSentence(wrong: readonly number[]): string {
  if (wrong.length === 1) return `Word ${wrong[0]} does not match what was shown.`;
  const list = `${wrong.slice(0, -1).join(', ')} and ${wrong[wrong.length - 1]}`;
  return `Words ${list} do not match what was shown.`;
}
