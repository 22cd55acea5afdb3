/**
 * The documents stand on their own (issue 13): every link in README.md and docs/ that is not a web
 * address names a file inside this repository that exists, and its `#anchor`, if any, a heading
 * there (GitHub's slugs). The README links nothing outside the repository, not even the web: what
 * a newcomer needs is here. The docs may cite a library's web site; a relative link that climbs out
 * of the repository (to a design document beside it, say) fails.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './process.js';

/** The link targets of a markdown text, outside fenced blocks and code spans. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** The anchors GitHub gives a document's headings (`## 6. Invariants` → `6-invariants`). */
function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, text] of prose.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = text!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

/**
 * What is wrong with the links of `text`, the contents of `file` (relative to the repository's
 * root); empty when every link resolves. `web`: whether http(s) links are allowed.
 */
function brokenLinks(text: string, file: string, o: { web: boolean }): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      if (!(o.web && /^https?:\/\//.test(target)))
        problems.push(`${file}: ${target} points outside the repository`);
      continue;
    }
    const [path, anchor] = target.split('#', 2) as [string, string | undefined];
    const to = resolve(REPO_ROOT, dirname(file), decodeURI(path));
    const inside = relative(REPO_ROOT, to);
    if (inside.startsWith('..')) {
      problems.push(`${file}: ${target} points outside the repository`);
    } else if (path !== '' && !existsSync(to)) {
      problems.push(`${file}: ${target}: no such file (${inside})`);
    } else if (anchor !== undefined && anchor !== '') {
      const heads =
        path === '' ? text : to.endsWith('.md') && statSync(to).isFile() ? readFileSync(to, 'utf8') : '';
      if (!headingSlugs(heads).has(anchor))
        problems.push(`${file}: ${target}: no heading #${anchor} in ${path || file}`);
    }
  }
  return problems;
}

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');

describe('links in README.md and docs/', () => {
  const docs = readdirSync(join(REPO_ROOT, 'docs'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f))
    .sort();

  it('README.md links only inside the repository, and every link resolves', () => {
    expect(linkTargets(read('README.md')).length).toBeGreaterThan(5);
    expect(brokenLinks(read('README.md'), 'README.md', { web: false })).toEqual([]);
  });

  it('every link in docs/ resolves inside the repository (web sites aside)', () => {
    expect(docs).toContain(join('docs', 'design.md'));
    expect(docs.flatMap((f) => brokenLinks(read(f), f, { web: true }))).toEqual([]);
  });

  it('the README links the design, and every document in docs/ is reached from the README', () => {
    expect(linkTargets(read('README.md'))).toContain('docs/design.md');
    const reached = new Set(['README.md']);
    const queue = ['README.md'];
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      for (const target of linkTargets(read(file))) {
        const path = target.split('#')[0]!;
        if (!path.endsWith('.md') || /^[a-z][a-z0-9+.-]*:/i.test(path)) continue;
        const to = relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), path));
        if (!reached.has(to) && existsSync(join(REPO_ROOT, to))) {
          reached.add(to);
          queue.push(to);
        }
      }
    }
    expect(docs.filter((f) => !reached.has(f))).toEqual([]);
  });

  it('finds what is wrong: a missing file, a missing heading, a way out, a web link in the README', () => {
    const text = [
      '# Top',
      '## 6. Invariants',
      '[ok](#6-invariants) [self](#top) `[code](nowhere.md)` [design](docs/design.md#6-invariants)',
      '[gone](docs/nope.md) [bad anchor](#7-storage) [elsewhere](docs/design.md#nope)',
      '[out](../DESIGN.md) [web](https://example.org)',
      '```',
      '[fenced](nowhere.md)',
      '```',
    ].join('\n');
    expect(headingSlugs(text)).toEqual(new Set(['top', '6-invariants']));
    expect(headingSlugs('# The demo (`npm start`)\n# A\n# A')).toEqual(
      new Set(['the-demo-npm-start', 'a', 'a-1']),
    );
    const wrong = [
      'README.md: docs/nope.md: no such file (docs/nope.md)',
      'README.md: #7-storage: no heading #7-storage in README.md',
      'README.md: docs/design.md#nope: no heading #nope in docs/design.md',
      'README.md: ../DESIGN.md points outside the repository',
    ];
    expect(brokenLinks(text, 'README.md', { web: true })).toEqual(wrong);
    expect(brokenLinks(text, 'README.md', { web: false })).toEqual([
      ...wrong,
      'README.md: https://example.org points outside the repository',
    ]);
  });
});
