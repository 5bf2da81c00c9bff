import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Where our code creates EventEmitters: classes extending it, and `new EventEmitter` sites. */
export interface EmitterSources {
  classes: { name: string; file: string }[];
  /** `const x = new EventEmitter…` sites, and whether the same file gives `x` an 'error' listener. */
  sites: { variable: string; file: string; hasErrorListener: boolean }[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory())
      return name === 'testing' || name === 'faults' ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Scans the TypeScript sources under `root` (tests and test helpers excluded). */
export function findEmitterSources(root: string): EmitterSources {
  const sources: EmitterSources = { classes: [], sites: [] };
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    const rel = relative(root, file);
    for (const m of text.matchAll(/class\s+(\w+)\s+extends\s+EventEmitter\b/g))
      sources.classes.push({ name: m[1]!, file: rel });
    for (const m of text.matchAll(/(?:const|let)\s+(\w+)\s*=\s*new\s+EventEmitter\b/g)) {
      const variable = m[1]!;
      const listener = new RegExp(`\\b${variable}\\.(on|once|addListener)\\(\\s*'error'`);
      sources.sites.push({ variable, file: rel, hasErrorListener: listener.test(text) });
    }
  }
  return sources;
}

/**
 * EventEmitters reachable from `root` through object properties (depth-limited, each object once),
 * whose class is one of `classNames`: the instances a started gateway holds.
 */
export function reachableEmitters(
  root: object,
  classNames: ReadonlySet<string>,
  maxDepth = 4,
): { name: string; path: string; errorListeners: number }[] {
  const found: { name: string; path: string; errorListeners: number }[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown, path: string, depth: number) => {
    if (typeof value !== 'object' || value === null || seen.has(value) || depth > maxDepth) return;
    seen.add(value);
    if (value instanceof EventEmitter && classNames.has(value.constructor.name))
      found.push({
        name: value.constructor.name,
        path,
        errorListeners: value.listenerCount('error'),
      });
    // Buffers and typed arrays hold pixels, not emitters.
    if (ArrayBuffer.isView(value)) return;
    if (value instanceof Map) {
      for (const [k, v] of value) visit(v, `${path}.get(${String(k)})`, depth + 1);
      return;
    }
    for (const key of Object.keys(value)) {
      let child: unknown;
      try {
        child = (value as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      visit(child, `${path}.${key}`, depth + 1);
    }
  };
  visit(root, 'gateway', 0);
  return found;
}
