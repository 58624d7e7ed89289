/**
 * Reads the fenced code blocks and relative links out of the Markdown documentation, so the
 * docs test can run every block and follow every link. See docs/README.md ("How the docs are
 * checked") for the conventions a writer follows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface CodeBlock {
  /** The file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The first word of the info string, lower-cased ('' when the fence has none). */
  lang: string;
  /** `file=NAME` in the info string: the block is the content of that file in the workspace. */
  fileName?: string;
  /** The reason given by a `<!-- not-run: reason -->` line just above the fence. */
  notRun?: string;
  code: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/;
const NOT_RUN = /^<!--\s*not-run:\s*(.*?)\s*-->$/;

/** README.md and every Markdown file under docs/, in a stable order. */
export function docFiles(root: string): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.md')) files.push(join(dir, e.name));
    }
  };
  walk('docs');
  return files;
}

export function codeBlocks(root: string, file: string): CodeBlock[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const fence = open[2]!;
    const info = open[3]!.trim();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim().startsWith(fence) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.slice(Math.min(indent, l.length - l.trimStart().length)));
    }
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const notRun = k >= 0 ? NOT_RUN.exec(lines[k]!.trim())?.[1] : undefined;
    const [lang = '', ...attrs] = info.split(/\s+/);
    const fileAttr = attrs.find((a) => a.startsWith('file='));
    blocks.push({
      file,
      line: i + 1,
      lang: lang.toLowerCase(),
      fileName: fileAttr?.slice('file='.length),
      notRun,
      code: body.join('\n') + '\n',
    });
    i = j;
  }
  return blocks;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every heading anchor of a Markdown file (outside code blocks), numbered as GitHub does for repeats. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (FENCE.test(line)) inFence = !inFence;
    if (inFence) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** Relative links `[text](target)` outside code blocks and inline code. */
export function relativeLinks(root: string, file: string): Link[] {
  const links: Link[] = [];
  let inFence = false;
  readFileSync(join(root, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (FENCE.test(line)) inFence = !inFence;
      if (inFence) return;
      const prose = line.replace(/`[^`]*`/g, '');
      for (const m of prose.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        links.push({ file, line: i + 1, target });
      }
    });
  return links;
}

export function where(b: { file: string; line: number }): string {
  return `${b.file}:${b.line}`;
}

export function rel(root: string, path: string): string {
  return relative(root, path);
}
