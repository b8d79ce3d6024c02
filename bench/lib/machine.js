// What machine the figures came from.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

function version(cmd, args, pick = (s) => s.split('\n')[0].trim()) {
  try {
    return pick(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: toolEnv() }));
  } catch {
    return null;
  }
}

/** process.env with the Go and Cargo toolchains on PATH (as test/fixtures/build.mjs does). */
export function toolEnv() {
  const home = os.homedir();
  const cargo = process.env.CARGO_HOME ?? `${home}/.cargo`;
  return { ...process.env, PATH: [process.env.PATH ?? '', `${cargo}/bin`, '/usr/local/go/bin'].join(':') };
}

export function machineInfo() {
  let cpu = null;
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? null;
  } catch {}
  return {
    kernel: version('uname', ['-r']),
    cpu,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    go: version('go', ['version'], (s) => s.trim().split(/\s+/)[2] ?? s.trim()),
    rustc: version('rustc', ['--version'], (s) => s.trim().split(/\s+/)[1] ?? s.trim()),
    strace: version('strace', ['-V'], (s) => /version\s+(\S+)/.exec(s)?.[1] ?? s.split('\n')[0]),
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    fiu: version('dpkg-query', ['-W', '-f=${Version}', 'fiu-utils'], (s) => s.trim() || null),
  };
}
