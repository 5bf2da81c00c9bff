import { execFileSync } from 'node:child_process';
import semver from 'semver';

/**
 * The dependency advisory gate (RELIABILITY scenario 25). `npm audit` needs the registry's advisory
 * endpoint, which not every mirror serves, so the advisories that matter most to a Socket.IO gateway
 * are also pinned here as minimum versions: every installed copy of each package must be at least
 * the first fixed release.
 */
export const MINIMUM_VERSIONS: ReadonlyArray<{ name: string; min: string; why: string }> = [
  {
    name: 'socket.io',
    min: '4.6.2',
    why: 'CVE-2024-38355: unhandled error event crashes the server',
  },
  {
    name: 'socket.io-parser',
    min: '4.2.3',
    why: 'CVE-2023-32695: crafted packet crashes the server',
  },
  { name: 'engine.io', min: '6.4.2', why: 'CVE-2022-41940, CVE-2023-31125: crafted packets crash' },
  { name: 'engine.io-client', min: '6.5.4', why: 'ws bundled with an unpatched range' },
  { name: 'ws', min: '8.17.1', why: 'CVE-2024-37890: many headers crash the server' },
  {
    name: 'cookie',
    min: '0.7.0',
    why: 'CVE-2024-47764: out-of-bounds characters in cookie fields',
  },
];

interface NpmTreeNode {
  version?: string;
  dependencies?: Record<string, NpmTreeNode>;
}

/** Every installed copy of every package in an `npm ls --all --json` tree, as name → versions. */
export function installedVersions(tree: NpmTreeNode): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const walk = (node: NpmTreeNode) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (child.version) {
        const versions = found.get(name) ?? new Set<string>();
        versions.add(child.version);
        found.set(name, versions);
      }
      walk(child);
    }
  };
  walk(tree);
  return found;
}

/** The installed copies older than their first fixed release, each with the advisory it misses. */
export function vulnerableCopies(installed: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const { name, min, why } of MINIMUM_VERSIONS) {
    for (const version of installed.get(name) ?? []) {
      if (!semver.valid(version) || semver.lt(version, min))
        problems.push(`${name}@${version} is older than ${min} (${why})`);
    }
  }
  return problems;
}

function npmTree(): NpmTreeNode {
  // npm ls exits non-zero on extraneous or invalid packages but still prints the tree.
  try {
    return JSON.parse(execFileSync('npm', ['ls', '--all', '--json'], { encoding: 'utf8' }));
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    if (stdout) return JSON.parse(stdout);
    throw error;
  }
}

/** `npm audit` at high severity; an unreachable advisory endpoint is reported, not failed. */
function npmAudit(): { ok: boolean; message: string } {
  try {
    execFileSync('npm', ['audit', '--audit-level=high', '--omit=optional'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    return { ok: true, message: 'npm audit: no high or critical advisories' };
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
    if (/audit endpoint returned an error|ENOTFOUND|ETIMEDOUT|405|EAI_AGAIN/.test(output))
      return {
        ok: true,
        message: 'npm audit: the registry serves no advisory endpoint here; pinned minimums only',
      };
    return { ok: false, message: output.trim() };
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = vulnerableCopies(installedVersions(npmTree()));
  for (const problem of problems) console.error(`vulnerable: ${problem}`);
  const audit = npmAudit();
  console.log(audit.message);
  if (!audit.ok) console.error(audit.message);
  if (problems.length || !audit.ok) process.exit(1);
  console.log(
    `advisories: ${MINIMUM_VERSIONS.length} pinned minimums hold for every installed copy`,
  );
}
