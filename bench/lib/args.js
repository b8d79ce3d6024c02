// The benchmark scripts' hand-rolled flag loop, written once: each script says which flags it takes.
/**
 * Walks argv. `take(flag, next)` returns how many words the flag used (1, or 2 with its value), or 0 when it
 * does not know the flag or its value is missing or wrong. -h/--help prints usage and exits 0; anything not
 * taken prints one line and the usage and exits 2.
 */
export function walkFlags(argv, usage, take) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log(usage);
      process.exit(0);
    }
    const used = take(a, argv[i + 1]);
    if (!used) {
      console.error(`bench: unknown or incomplete argument ${JSON.stringify(a)}\n${usage}`);
      process.exit(2);
    }
    i += used - 1;
  }
}

/** A positive integer flag value, or null. */
export const positive = (v) => (/^\d+$/.test(v ?? '') && Number(v) > 0 ? Number(v) : null);
