/**
 * `sysfault doctor [CMD]`: kernel features, usable engines, the native files, the Go fast path; with CMD, the
 * engine `auto` picks for it and why, and for a Go program whether the agent can be loaded into it. Exit 0 when
 * both engines are usable, else 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstLine } from '../common/text.js';
import { type NativeBinding, type NativeKernelFeatures } from '../native/binding.js';
import { NATIVE_FILES, requireBinding, requireNativeDir, seccompProblem } from '../native/files.js';
import { detectEngine, resolveCommand } from '../run/engine.js';
import { table } from '../run/summary.js';
import { parseCommandLine } from './args.js';

/** `sysfault doctor`. */
export function doctorCommand(argv: readonly string[]): number {
  const line = parseCommandLine('doctor', argv);
  if (line.printedHelp()) return 0;
  const rows: [string, string][] = [];
  let native: NativeBinding | undefined;
  let features: NativeKernelFeatures | undefined;
  try {
    native = requireBinding();
    features = native.kernelFeatures();
  } catch (err) {
    rows.push(['native addon', `not loadable: ${firstLine(err)}`]);
  }
  if (features) {
    const yes = (b: boolean): string => (b ? 'yes' : 'no');
    rows.push(
      ['kernel', features.kernel],
      ['seccomp user notification', yes(features.userNotif)],
      ['notification CONTINUE (5.5)', yes(features.notifContinue)],
      ['WAIT_KILLABLE_RECV (5.19)', yes(features.waitKillable)],
      ['sync wake-up (6.6)', yes(features.syncWakeup)],
      ['pidfd_getfd (5.6)', yes(features.pidfdGetfd)],
    );
  }
  let dir: string | undefined;
  try {
    dir = requireNativeDir();
    rows.push(['native dir', dir]);
  } catch (err) {
    rows.push(['native dir', `not found: ${firstLine(err)}`]);
  }
  const has = (name: keyof typeof NATIVE_FILES): boolean => dir !== undefined && existsSync(join(dir, NATIVE_FILES[name]));
  const preloadWhy = !native ? 'native addon missing' : !has('preload') ? `${NATIVE_FILES.preload} missing` : !has('shim') ? `${NATIVE_FILES.shim} missing` : undefined;
  const seccompWhy = !native || !features ? 'native addon missing' : !has('shim') ? `${NATIVE_FILES.shim} missing` : seccompProblem(features);
  rows.push(['engine preload', preloadWhy ? `unusable: ${preloadWhy}` : 'usable']);
  rows.push(['engine seccomp', seccompWhy ? `unusable: ${seccompWhy}` : 'usable']);
  if (features && !seccompWhy) rows.push(['Go fast path', fastPathState(features, has('goagent'))]);
  const [command] = line.positionals;
  if (command !== undefined) {
    const executable = resolveCommand(command, process.env.PATH, process.cwd());
    const detection = detectEngine(executable);
    rows.push([`auto for ${command}`, `${detection.engine}: ${detection.reason}`]);
    if (native && detection.kind === 'go') {
      const go = native.goExecutable(executable);
      rows.push([`fast path for ${command}`, go.patchable ? `Syscall6 found in the ${go.found}` : `no (the supervisor alone): ${go.why}`]);
    }
  }
  process.stdout.write(`${table(['sysfault doctor', ''], rows, '').slice(1).join('\n')}\n`);
  return preloadWhy || seccompWhy ? 1 : 0;
}

/** Whether `auto` can load the Go agent here: ptrace of its own child (Yama), the runtime's stubs (FSGSBASE). */
function fastPathState(features: NativeKernelFeatures, agentBuilt: boolean): string {
  if (!agentBuilt) return `unusable: ${NATIVE_FILES.goagent} missing`;
  if (process.env.SYSFAULT_FAST_PATH === '0') return 'off (SYSFAULT_FAST_PATH=0)';
  let scope = 0;
  try {
    scope = Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim());
  } catch {
    // no Yama: ptrace as usual
  }
  if (scope >= 3) return 'unusable: Yama ptrace_scope 3 forbids ptrace (the supervisor alone handles Go programs)';
  if (scope === 2 && process.getuid?.() !== 0) return 'unusable: Yama ptrace_scope 2 allows ptrace to admins only (the supervisor alone handles Go programs)';
  return `usable${features.fsgsbase ? " (Syscall6, and the runtime's own write and read: FSGSBASE)" : ' (Syscall6; no FSGSBASE, so not the runtime\'s own write and read)'}`;
}
