// The contract's example plan (DESIGN.md section 3), shared by the plan tests.
import type { PlanInput } from '../../src/plan/schema.js';

export const WAL_RULE = {
  id: 'wal-eio',
  syscalls: ['fsync', 'fdatasync'],
  path: '/var/lib/db/**/*.wal',
  after: 3,
  probability: 0.5,
  limit: 2,
  action: { errno: 'EIO' },
};
export const CONTRACT_PLAN = {
  version: 1,
  seed: 42,
  rules: [
    WAL_RULE,
    { syscalls: ['connect'], addr: '127.0.0.1:6379', action: { errno: 'ECONNREFUSED' } },
    { syscalls: ['read'], fd: 'socket', probability: 0.1, action: { delayMs: 200 } },
    { syscalls: ['write'], path: '**/data.bin', action: { short: 1 } },
    { syscalls: ['fsync'], after: 10, limit: 1, action: { kill: 'SIGKILL' } },
  ],
} satisfies PlanInput;
