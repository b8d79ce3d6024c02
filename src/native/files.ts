/**
 * The native side as the API needs it: the binding and the native files, with failures as EngineErrors, and
 * what each engine needs from the kernel.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../common/errors.js';
import { firstLine } from '../common/text.js';
import { binding, nativeDir, type NativeBinding, type NativeKernelFeatures } from './binding.js';

/** Names of the native files in {@link nativeDir}. */
export const NATIVE_FILES = {
  preload: 'libsysfault-preload.so',
  goagent: 'libsysfault-goagent.so',
  shim: 'sysfault-shim',
  demo: 'sysfault-demo',
} as const;

/** The native binding, or an EngineError saying why it cannot be loaded. */
export function requireBinding(): NativeBinding {
  try {
    return binding();
  } catch (err) {
    throw new EngineError(`the native addon cannot be loaded (${firstLine(err)}); build it with "npm run build:native"`, {
      cause: err,
    });
  }
}

/** The directory of the preload library and the shim, or an EngineError. */
export function requireNativeDir(): string {
  try {
    return nativeDir();
  } catch (err) {
    throw new EngineError(firstLine(err).replace(/^sysfault: /, ''), { cause: err });
  }
}

/** Path of one native file, or an EngineError when it is missing. */
export function nativeFile(name: keyof typeof NATIVE_FILES): string {
  const path = join(requireNativeDir(), NATIVE_FILES[name]);
  if (!existsSync(path)) throw new EngineError(`native file missing: ${path}; build it with "npm run build:native"`);
  return path;
}

/** Why the seccomp engine cannot run on this kernel, or undefined when it can. */
export function seccompProblem(features: NativeKernelFeatures): string | undefined {
  if (!features.userNotif) {
    return `the seccomp engine needs seccomp user notification, which this kernel (${features.kernel}) lacks (Linux 5.0+)`;
  }
  if (!features.notifContinue) {
    return `the seccomp engine needs SECCOMP_USER_NOTIF_FLAG_CONTINUE, which this kernel (${features.kernel}) lacks (Linux 5.5+)`;
  }
  return undefined;
}
