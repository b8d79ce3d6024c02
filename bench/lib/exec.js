// Runs one measured command, bare (child_process) or under sysfault (the API's run(), or the CLI as a fallback),
// capturing its stdout and stderr through files, so that every variant is captured the same way.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist');
const scratch = mkdtempSync(join(tmpdir(), 'sysfault-bench-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
let seq = 0;

/** The sysfault API (dist/index.js) or null; and why not. */
export async function loadApi() {
  const index = join(DIST, 'index.js');
  if (!existsSync(index)) return { api: null, why: 'dist/index.js is missing (run: npm run build)' };
  try {
    const api = await import(pathToFileURL(index).href);
    if (typeof api.run !== 'function') return { api: null, why: 'dist/index.js does not export run()' };
    return { api, why: null };
  } catch (e) {
    return { api: null, why: `cannot load dist/index.js: ${e.message.split('\n')[0]}` };
  }
}

let mode = null; // { kind: 'api', api } | { kind: 'cli', cli }

/** Chooses how sysfault runs are made: 'api' (default when dist exports run) or 'cli'. */
export async function chooseMode(prefer) {
  const { api, why } = await loadApi();
  const cli = join(DIST, 'cli', 'main.js');
  if (prefer !== 'cli' && api) mode = { kind: 'api', api };
  else if (existsSync(cli)) mode = { kind: 'cli', cli };
  else mode = null;
  return { mode: mode?.kind ?? null, why: mode ? null : why ?? 'dist/cli/main.js is missing (run: npm run build)' };
}

export function api() {
  return mode?.kind === 'api' ? mode.api : null;
}

function files() {
  const n = seq++;
  const out = join(scratch, `out-${n}`);
  const err = join(scratch, `err-${n}`);
  return { out, err, outFd: openSync(out, 'w'), errFd: openSync(err, 'w') };
}

function collect(f) {
  closeSync(f.outFd);
  closeSync(f.errFd);
  const stdout = readFileSync(f.out, 'utf8');
  const stderr = readFileSync(f.err, 'utf8');
  rmSync(f.out, { force: true });
  rmSync(f.err, { force: true });
  return { stdout, stderr };
}

function spawnPlain(cmd, args, { env, timeout, outFd, errFd }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', outFd, errFd], env: env ?? process.env });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, spawnError: e.message, timedOut: false });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, spawnError: null, timedOut });
    });
  });
}

/**
 * Runs cmd args; with `sysfault: { engine, plan }` under sysfault. Resolves to
 * { stdout, stderr, code, signal, timedOut, error, result, wallMs } (error: a string when it could not run).
 */
export async function execMeasured(cmd, args, { sysfault = null, env, timeout = 120_000 } = {}) {
  const f = files();
  const start = performance.now();
  let status;
  let result = null;
  let captured;
  try {
    if (!sysfault) {
      status = await spawnPlain(cmd, args, { env, timeout, outFd: f.outFd, errFd: f.errFd });
    } else if (mode?.kind === 'api') {
      try {
        result = await mode.api.run(cmd, args, {
          plan: sysfault.plan,
          engine: sysfault.engine,
          timeout,
          env,
          stdio: ['ignore', f.outFd, f.errFd],
        });
        status = {
          code: result.exit.code,
          signal: result.exit.signal,
          timedOut: result.timedOut === true,
          spawnError: null,
        };
      } catch (e) {
        status = { code: null, signal: null, timedOut: false, spawnError: `sysfault: ${e.message}` };
      }
    } else if (mode?.kind === 'cli') {
      const planFile = join(scratch, `plan-${seq++}.json`);
      const jsonFile = join(scratch, `result-${seq++}.json`);
      writeFileSync(planFile, JSON.stringify(sysfault.plan));
      status = await spawnPlain(
        process.execPath,
        [mode.cli, 'run', '--engine', sysfault.engine, '--plan', planFile, '--json', jsonFile, '--', cmd, ...args],
        { env, timeout, outFd: f.outFd, errFd: f.errFd },
      );
      try {
        result = JSON.parse(readFileSync(jsonFile, 'utf8'));
      } catch {}
      rmSync(planFile, { force: true });
      rmSync(jsonFile, { force: true });
      if (status.code === 125) status.spawnError = 'sysfault exited 125';
    } else {
      status = { code: null, signal: null, timedOut: false, spawnError: 'sysfault is not built (npm run build)' };
    }
  } finally {
    captured = collect(f);
  }
  const { stdout, stderr } = captured;
  const wallMs = performance.now() - start;
  let error = status.spawnError;
  if (!error && status.timedOut) error = `timed out after ${timeout} ms`;
  if (error && stderr.trim()) error += `: ${stderr.trim().split('\n').slice(-2).join(' / ')}`;
  return { stdout, stderr, code: status.code, signal: status.signal, timedOut: status.timedOut, error, result, wallMs };
}

/** Builds bench/tools/NAME.c into bench/.build/NAME when out of date; returns its path. */
export function buildTool(name) {
  const src = join(ROOT, 'bench', 'tools', `${name}.c`);
  const out = join(ROOT, 'bench', '.build', name);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return out;
  mkdirSync(join(ROOT, 'bench', '.build'), { recursive: true });
  execFileSync('gcc', ['-O2', '-Wall', '-o', `${out}.tmp`, src], { stdio: ['ignore', 'pipe', 'pipe'] });
  renameSync(`${out}.tmp`, out);
  return out;
}
