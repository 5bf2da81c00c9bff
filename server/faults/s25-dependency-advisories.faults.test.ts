import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MINIMUM_VERSIONS, installedVersions, vulnerableCopies } from '@/scripts/checkAdvisories';

describe('scenario 25: dependency advisory gate', () => {
  it('finds every installed copy of the Socket.IO stack at or above its first fixed release', () => {
    const tree = JSON.parse(execFileSync('npm', ['ls', '--all', '--json'], { encoding: 'utf8' }));
    const installed = installedVersions(tree);
    for (const name of ['socket.io', 'socket.io-parser', 'engine.io', 'ws'])
      expect(installed.get(name)?.size, name).toBeGreaterThan(0);
    expect(vulnerableCopies(installed)).toEqual([]);
  });

  it('flags a copy below its minimum, including one nested deep in the tree', () => {
    const tree = {
      dependencies: {
        'socket.io': {
          version: '4.8.4',
          dependencies: { 'socket.io-parser': { version: '4.2.2' } },
        },
        a: { dependencies: { b: { dependencies: { ws: { version: '8.17.0' } } } } },
        cookie: { version: 'not-a-version' },
      },
    };
    const problems = vulnerableCopies(installedVersions(tree));
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/socket\.io-parser@4\.2\.2 is older than 4\.2\.3/);
    expect(problems.join('\n')).toMatch(/ws@8\.17\.0 is older than 8\.17\.1/);
    expect(MINIMUM_VERSIONS.map((m) => m.name)).toContain('engine.io');
  });
});
