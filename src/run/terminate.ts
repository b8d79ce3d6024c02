/**
 * All termination of processes sysfault started: signals to a child's process group (every child is spawned
 * detached, in a group of its own), what a child left in its group when it exited, and the stragglers of a run.
 *
 * The last line of defence for "the target never outlives its run": when the shim itself is killed from outside
 * (so it could not end the tree), the target's descendants are reparented away from it and nothing kills them.
 * Every process of a run carries the run's id in its environment (SYSFAULT_RUN_ID), so they can still be found.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Sends `signal` to the process group led by `pid`; false when there is none (any more). */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** Signals a child's group while the child runs (the child alone when it has no group of its own). */
export function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (signalGroup(child.pid, signal)) return;
  try {
    child.kill(signal);
  } catch {
    // gone
  }
}

/**
 * SIGKILLs what is left of a child's process group after the child itself has exited. A background grandchild
 * (`sh -c 'server & echo started'`) stays in the group when its leader is gone, where {@link signalChild} (which
 * stops at the child's exit) no longer reaches it. While the group has members its id stays the child's: no
 * new process gets a pid that matches an existing process group (fork(2)).
 */
export function killGroupRemains(child: ChildProcess): void {
  signalGroup(child.pid, 'SIGKILL');
}

/** SIGKILLs every process (other than this one) whose environment holds SYSFAULT_RUN_ID=runId; returns how many. */
export function killStragglers(runId: string): number {
  const needle = `\0SYSFAULT_RUN_ID=${runId}\0`;
  let killed = 0;
  // A few passes: a straggler may fork while we look.
  for (let pass = 0; pass < 3; pass++) {
    let found = 0;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
      let environ: string;
      try {
        environ = `\0${readFileSync(`/proc/${name}/environ`, 'latin1')}`;
      } catch {
        continue; // gone, or not ours to read
      }
      if (!environ.includes(needle)) continue;
      try {
        process.kill(Number(name), 'SIGKILL');
        found++;
      } catch {
        // already gone
      }
    }
    killed += found;
    if (found === 0) break;
  }
  return killed;
}
