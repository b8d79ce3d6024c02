/**
 * Both engines work for an unprivileged user: the CLI runs as `nobody` (setpriv --reuid=65534 --regid=65534
 * --clear-groups) on c/pacer in a directory owned by nobody, with an errno, a short write (which the seccomp
 * monitor performs itself, through pidfd_getfd) and a delay, and the faults and counts are exact.
 * Needs root (to switch to nobody) and setpriv (util-linux); skipped with the reason otherwise.
 *
 * A checkout under a private folder is out of nobody's reach: test/nobody.ts then runs a copy of what the run
 * needs from a directory nobody can reach.
 */
import { chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine, RunResult } from '../../src/index.js';
import { plan, scratch } from '../helpers.js';
import { asNobody as asNobodyWith, NOBODY, nobodyHome, whyNotNobody } from '../nobody.js';

const skip = whyNotNobody();
const home = skip === undefined ? nobodyHome(['c/pacer']) : undefined;
const pacer = home?.fixture('c/pacer') ?? '';
afterAll(() => home?.dispose());
const asNobody = (args: string[]) => asNobodyWith(home?.cli ?? '', args);

describe.skipIf(skip !== undefined).each<Engine>(['preload', 'seccomp'])(
  `%s engine as user nobody${skip ? ` [skipped: ${skip}]` : ''}`,
  (engine) => {
    it('injects and counts exactly, without privileges', async () => {
      const dir = scratch();
      chownSync(dir, NOBODY, NOBODY);
      const planFile = join(dir, 'plan.json');
      writeFileSync(
        planFile,
        JSON.stringify(
          plan([
            { id: 'eio', syscalls: ['fsync'], after: 1, action: { errno: 'EIO' } },
            { id: 'torn', syscalls: ['write'], path: '**/pacer.bin', limit: 1, action: { short: 3 } },
            { id: 'slow', syscalls: ['write'], path: '**/pacer.bin', after: 2, action: { delayMs: 20 } },
          ]),
        ),
      );
      const json = join(dir, 'result.json');
      const out = await asNobody(['run', '-q', '--engine', engine, '--plan', planFile, '--json', json, '--', pacer, dir, '4', '0']);
      expect(out.stderr).toBe('');
      expect(out.status).toBe(1);
      const lines = out.stdout.split('\n').filter((l) => l.startsWith('write ') || l.startsWith('fsync '));
      expect(lines).toEqual([
        'write 0 ok 3',
        'fsync 0 ok',
        'write 1 ok 10',
        'fsync 1 err EIO Input/output error',
        'write 2 ok 10',
        'fsync 2 err EIO Input/output error',
        'write 3 ok 10',
        'fsync 3 err EIO Input/output error',
      ]);
      const result = JSON.parse(readFileSync(json, 'utf8')) as RunResult;
      expect(result.engine).toBe(engine);
      expect(result.counts.fsync).toEqual({ calls: 4, faulted: 3, delayed: 0 });
      // (write calls include the transcript's own writes to stdout under seccomp, which sees every write)
      expect([result.counts.write?.faulted, result.counts.write?.delayed]).toEqual([1, 1]);
      expect(result.rules).toEqual([
        { id: 'eio', matched: 4, fired: 3 },
        { id: 'torn', matched: 4, fired: 1 },
        { id: 'slow', matched: 3, fired: 1 },
      ]);
      expect(result.faults.map((f) => `${f.rule} ${f.syscall} ${f.action}`)).toEqual([
        'torn write short:3',
        'eio fsync errno:EIO',
        'eio fsync errno:EIO',
        'slow write delay:20ms',
        'eio fsync errno:EIO',
      ]);
      const data = statSync(join(dir, 'pacer.bin'));
      expect([data.size, data.uid]).toEqual([33, NOBODY]);
      expect(statSync(json).uid).toBe(NOBODY);
    });
  },
);
