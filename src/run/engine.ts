/**
 * Engine selection and command resolution, both done before anything is started.
 *
 * `auto` picks the seccomp engine for programs that bypass libc, and preload for the rest:
 * - Go binaries (a `.go.buildinfo`, `.note.go.buildid` or `.gopclntab` section, or a "Go" ELF note): Go makes
 *   raw syscalls even when cgo-linked;
 * - static ELF files (no PT_INTERP; static-pie included): there is no dynamic loader to preload into;
 * - other (dynamically linked) ELF files: preload.
 * A script (`#!`) is run by its interpreter, so the interpreter is what is examined (through `/usr/bin/env
 * NAME` too); anything else unreadable or unrecognized gets preload.
 * Only fs reads are used (the ELF header, program headers, section headers and their names): no tools.
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync, type Stats } from 'node:fs';
import { basename, resolve } from 'node:path';
import { CommandError } from '../common/errors.js';
import type { Engine } from '../common/run-result.js';

/** What {@link detectEngine} found. */
export interface EngineDetection {
  /** The engine `auto` picks. */
  engine: Engine;
  /** What the file is. */
  kind: 'go' | 'static' | 'dynamic' | 'script' | 'unknown';
  /** Why, in a few words (e.g. "Go binary (.go.buildinfo section)"). */
  reason: string;
  /** For a script: the interpreter that was examined. */
  interpreter?: string;
}

const PT_INTERP = 3;
const PT_NOTE = 4;
const GO_SECTIONS = ['.go.buildinfo', '.note.go.buildid', '.gopclntab'];
const HEAD_BYTES = 64 * 1024;
const MAX_TABLE = 1 << 20; // largest header table or string table read

/**
 * Picks the engine `auto` uses for an executable file.
 * @param path the executable: a path, or a name without "/" looked up in PATH as the CLI does (see
 *   {@link resolveCommand}).
 * @param pathEnv PATH used to find the command and a script's `#!/usr/bin/env NAME` interpreter.
 */
export function detectEngine(path: string, pathEnv: string | undefined = process.env.PATH): EngineDetection {
  const file = examine(path.includes('/') ? path : (findInPath(path, pathEnv) ?? path));
  if (file.kind !== 'script') return file;
  const interpreter = file.interpreter;
  if (interpreter === undefined) return { engine: 'preload', kind: 'script', reason: 'script without an interpreter' };
  const inner = examine(interpreter, pathEnv);
  const engine = inner.kind === 'go' || inner.kind === 'static' ? 'seccomp' : 'preload';
  return { engine, kind: 'script', interpreter, reason: `script run by ${interpreter}: ${inner.reason}` };
}

function examine(path: string, pathEnv?: string): EngineDetection & { interpreter?: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return { engine: 'preload', kind: 'unknown', reason: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    const head = readAt(fd, 0, HEAD_BYTES);
    if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return script(head, pathEnv);
    if (head.length >= 52 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
      return elf(fd, head);
    }
    return { engine: 'preload', kind: 'unknown', reason: 'not an ELF file or a script' };
  } catch (err) {
    return { engine: 'preload', kind: 'unknown', reason: `cannot read ${path}: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

function script(head: Buffer, pathEnv: string | undefined): EngineDetection & { interpreter?: string } {
  const line = head.subarray(2, Math.max(2, head.indexOf(0x0a) >= 0 ? head.indexOf(0x0a) : head.length)).toString('utf8');
  const words = line.trim().split(/[ \t]+/).filter((w) => w !== '');
  let interpreter = words[0];
  if (interpreter !== undefined && basename(interpreter) === 'env') {
    const name = words.slice(1).find((w) => !w.startsWith('-') && !w.includes('='));
    interpreter = name === undefined ? undefined : name.includes('/') ? name : findInPath(name, pathEnv);
  }
  const base = { engine: 'preload' as const, kind: 'script' as const, reason: 'script' };
  return interpreter === undefined ? base : { ...base, interpreter };
}

function findInPath(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '/bin:/usr/bin').split(':')) {
    const candidate = resolve(dir === '' ? '.' : dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Field readers for one ELF class and byte order. */
interface ElfReader {
  is64: boolean;
  u16(b: Buffer, o: number): number;
  u32(b: Buffer, o: number): number;
  word(b: Buffer, o: number): number; // u32 or u64 (as a number; beyond 2^53 is treated as absurd)
}

function elf(fd: number, head: Buffer): EngineDetection {
  const is64 = head[4] === 2;
  const le = head[5] !== 2;
  const r: ElfReader = {
    is64,
    u16: (b, o) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o)),
    u32: (b, o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o)),
    word: (b, o) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : le ? b.readUInt32LE(o) : b.readUInt32BE(o)),
  };
  if (is64 && head.length < 64) return { engine: 'preload', kind: 'unknown', reason: 'truncated ELF header' };
  const phoff = r.word(head, is64 ? 32 : 28);
  const shoff = r.word(head, is64 ? 40 : 32);
  const phentsize = r.u16(head, is64 ? 54 : 42);
  const phnum = r.u16(head, is64 ? 56 : 44);
  const shentsize = r.u16(head, is64 ? 58 : 46);
  let shnum = r.u16(head, is64 ? 60 : 48);
  let shstrndx = r.u16(head, is64 ? 62 : 50);

  let interp = false;
  let goNote = false;
  if (phoff > 0 && phnum > 0 && phentsize >= (is64 ? 56 : 32)) {
    const table = readAt(fd, phoff, Math.min(phnum * phentsize, MAX_TABLE));
    for (let off = 0; off + phentsize <= table.length; off += phentsize) {
      const type = r.u32(table, off);
      if (type === PT_INTERP) interp = true;
      if (type === PT_NOTE && !goNote) {
        const offset = r.word(table, off + (is64 ? 8 : 4));
        const size = r.word(table, off + (is64 ? 32 : 16));
        goNote = hasGoNote(readAt(fd, offset, Math.min(size, MAX_TABLE)), r);
      }
    }
  }

  let goSection: string | undefined;
  if (shoff > 0 && shentsize >= (is64 ? 64 : 40)) {
    if (shnum === 0 || shstrndx === 0xffff) {
      const first = readAt(fd, shoff, shentsize);
      if (first.length === shentsize) {
        if (shnum === 0) shnum = r.word(first, is64 ? 32 : 20);
        if (shstrndx === 0xffff) shstrndx = r.u32(first, is64 ? 40 : 24);
      }
    }
    const count = Math.min(shnum, Math.floor(MAX_TABLE / shentsize));
    const table = readAt(fd, shoff, count * shentsize);
    if (shstrndx < count && table.length === count * shentsize) {
      const at = shstrndx * shentsize;
      const strOff = r.word(table, at + (is64 ? 24 : 16));
      const strSize = r.word(table, at + (is64 ? 32 : 20));
      const names = readAt(fd, strOff, Math.min(strSize, MAX_TABLE));
      for (let i = 0; i < count && goSection === undefined; i++) {
        const nameOff = r.u32(table, i * shentsize);
        if (nameOff >= names.length) continue;
        const end = names.indexOf(0, nameOff);
        const name = names.toString('latin1', nameOff, end < 0 ? names.length : end);
        if (GO_SECTIONS.includes(name)) goSection = name;
      }
    }
  }

  if (goSection) return { engine: 'seccomp', kind: 'go', reason: `Go binary (${goSection} section)` };
  if (goNote) return { engine: 'seccomp', kind: 'go', reason: 'Go binary (Go build-id note)' };
  if (!interp) return { engine: 'seccomp', kind: 'static', reason: 'static ELF (no program interpreter)' };
  return { engine: 'preload', kind: 'dynamic', reason: 'dynamically linked ELF' };
}

/** Is there a note named "Go" in this PT_NOTE segment? */
function hasGoNote(notes: Buffer, r: ElfReader): boolean {
  const align4 = (n: number): number => (n + 3) & ~3;
  for (let off = 0; off + 12 <= notes.length; ) {
    const namesz = r.u32(notes, off);
    const descsz = r.u32(notes, off + 4);
    const name = notes.toString('latin1', off + 12, Math.min(notes.length, off + 12 + namesz)).replace(/\0+$/, '');
    if (name === 'Go') return true;
    const next = off + 12 + align4(namesz) + align4(descsz);
    if (next <= off) break;
    off = next;
  }
  return false;
}

function readAt(fd: number, position: number, length: number): Buffer {
  if (!Number.isSafeInteger(position) || position < 0 || length <= 0) return Buffer.alloc(0);
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * Finds the executable a command names, as execvp(3) would, before anything is started.
 * A name with a "/" is taken relative to `cwd`; otherwise each PATH entry is tried in turn (an empty entry is
 * `cwd`; without PATH, "/bin:/usr/bin").
 * @returns the absolute path of the executable.
 * @throws CommandError `COMMAND_NOT_FOUND` (127) when nothing is found, `COMMAND_NOT_EXECUTABLE` (126) when
 *   what is found is not an executable regular file.
 */
export function resolveCommand(command: string, pathEnv: string | undefined, cwd: string): string {
  if (command === '') throw new CommandError('COMMAND_NOT_FOUND', command, 'empty command name');
  if (command.includes('/')) {
    const path = resolve(cwd, command);
    const st = statOrUndefined(path);
    if (!st) throw new CommandError('COMMAND_NOT_FOUND', command, `${command}: no such file or directory`);
    if (st.isDirectory()) throw new CommandError('COMMAND_NOT_EXECUTABLE', command, `${command}: is a directory`);
    if (!st.isFile()) throw new CommandError('COMMAND_NOT_EXECUTABLE', command, `${command}: not a regular file`);
    if (!canExecute(path)) throw new CommandError('COMMAND_NOT_EXECUTABLE', command, `${command}: permission denied`);
    return path;
  }
  let denied: string | undefined;
  for (const dir of (pathEnv ?? '/bin:/usr/bin').split(':')) {
    const candidate = resolve(cwd, dir === '' ? '.' : dir, command);
    const st = statOrUndefined(candidate);
    if (!st) continue;
    if (st.isFile() && canExecute(candidate)) return candidate;
    denied ??= candidate;
  }
  if (denied !== undefined) {
    throw new CommandError('COMMAND_NOT_EXECUTABLE', command, `${command}: permission denied (${denied})`);
  }
  throw new CommandError('COMMAND_NOT_FOUND', command, `${command}: command not found`);
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function canExecute(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isExecutableFile(path: string): boolean {
  const st = statOrUndefined(path);
  return st !== undefined && st.isFile() && canExecute(path);
}
