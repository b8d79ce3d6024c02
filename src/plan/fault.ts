/**
 * The one-line fault form (the CLI's `--fault SPEC`, and `RunOptions.faults`): one rule per spec.
 *
 *   SPEC     := SYSCALLS ['@' ADDR] {':' OPTION} ('=' ACTION | ':' ACTION)
 *   SYSCALLS := NAME {',' NAME}                  syscall or group names (fsync, write-family, net, ...)
 *   ADDR     := host:port | host | :port | [v6]:port | CIDR[:port]   as in a plan's `addr`, but an IPv6
 *                                                address needs brackets here ([::1], [fd00::]/8:443)
 *   OPTION   := path=GLOB | fd=any|file|socket|pipe | after=N | limit=N | p=P | id=ID
 *               (an option's value ends at the next ':' or '=': a glob with those needs a plan file)
 *   P        := a number from 0 to 1, or a percentage (10%)
 *   ACTION   := ERRNO | errno=ERRNO               an errno name or number: EIO, ECONNREFUSED, 5
 *             | delay=DURATION['+'DURATION]      ms unless "s" is given: delay=200ms, delay=1s, delay=200+50ms
 *                                                (the "+" part is jitter: an extra 0..50 ms, from the seed)
 *             | short=N                          transfer at most N bytes
 *             | kill['='SIGNAL]                  SIGKILL unless given: kill, kill=SIGTERM, kill=9
 *             | kill-after['='SIGNAL]            the same once the call has completed
 *             | torn=N | torn=P% | torn=seeded   a torn write: keep the first N bytes (P% of them, a seeded
 *                                                fraction), then SIGKILL
 *             | powercut | powercut-after        a power cut (needs the run's powercut option)
 *             | refuse | blackhole                connect: really refused; never completes (the program's
 *                                                own timeout fires)
 *             | reset['='N|DURATION]             socket I/O: the connection is reset (ECONNRESET), at once,
 *             | close['='N|DURATION]             once N bytes have passed, or after DURATION of silence; close:
 *                                                the same, as a peer's close (EOF)
 *
 * Examples:
 *   fsync=EIO                             every fsync fails with EIO
 *   write:short=1                         every write transfers at most 1 byte
 *   read:p=0.1=delay=200ms                10% of reads take 200 ms longer
 *   connect@127.0.0.1:6379=ECONNREFUSED   connecting to 127.0.0.1:6379 is refused
 *   fsync:after=3:limit=1=kill            the 4th fsync kills the process (SIGKILL)
 *   write-family:path=/data/**:p=1%=EIO   1% of writes under /data fail with EIO
 *   connect@127.0.0.1:6379=refuse         connecting to 127.0.0.1:6379 is refused, as by a closed port
 *   connect@10.0.0.0/8:p=0.5=blackhole    half the connects to 10/8 hang until the program gives up
 *   read,recvfrom@:8080=reset=1024        the connection to port 8080 is reset after 1024 bytes read
 *   read,recvfrom@:8080=delay=500+100ms   reads from port 8080 see 500..600 ms of latency
 */
import { PlanError } from '../common/errors.js';
import { closest } from '../common/text.js';
import { describePlanIssues } from './issues.js';
import { ruleSchema } from './schema.js';
import { syscallTable } from './syscalls.js';
import type { ActionInput, RuleInput } from './schema.js';

const OPTION_KEYS = ['path', 'fd', 'after', 'limit', 'p', 'id'] as const;
/** The words an action starts with (parseAction's cases). */
const ACTION_WORDS: readonly string[] = ['kill', 'kill-after', 'powercut', 'powercut-after', 'torn', 'refuse', 'blackhole', 'reset', 'close', 'errno', 'short', 'delay'];
type OptionKey = (typeof OPTION_KEYS)[number];

/**
 * Parses a one-line fault spec into a rule object (validated; default id left to the plan).
 * @param spec e.g. `fsync:after=3:limit=1=kill`.
 * @param label how errors name the spec: `--fault` for the CLI, `faults[2]` for the API.
 * @throws PlanError naming the spec, e.g. `--fault "fsync=EIOO": action.errno: unknown errno "EIOO"`.
 */
export function parseFault(spec: string, label = 'fault'): RuleInput {
  const fail = (why: string): never => {
    throw new PlanError(`${label} ${JSON.stringify(spec)}: ${why}`, { field: label, value: spec });
  };
  const head = /^[A-Za-z0-9_,-]+/.exec(spec);
  if (!head) fail('expected syscall names first, like "fsync=EIO"');
  const names = (head?.[0] ?? '').split(',');
  if (names.some((n) => n === '')) fail('empty syscall name in the list');
  let rest = spec.slice(head?.[0].length ?? 0);

  const rule: Record<string, unknown> = { syscalls: names };
  if (rest.startsWith('@')) {
    const addr = /^@(\[[^\]]*\](?:\/\d+)?(?::\d+)?|[0-9A-Za-z.]*(?:\/\d+)?(?::\d+)?)/.exec(rest);
    const text = addr?.[1] ?? '';
    if (text === '') fail('expected an address after "@" (an IPv6 address needs brackets: @[::1]:80)');
    rule.addr = text;
    rest = rest.slice(1 + text.length);
  }

  let action: string | undefined;
  while (action === undefined) {
    if (rest.startsWith('=')) {
      action = rest.slice(1);
    } else if (rest.startsWith(':')) {
      const seg = rest.slice(1);
      const opt = /^([a-z]+)=([^:=]*)/.exec(seg);
      const key = opt?.[1];
      if (opt && key !== undefined && (OPTION_KEYS as readonly string[]).includes(key)) {
        if (Object.hasOwn(rule, optionField(key as OptionKey))) fail(`option "${key}" given twice`);
        rule[optionField(key as OptionKey)] = optionValue(key as OptionKey, opt[2] ?? '');
        rest = seg.slice(opt[0].length);
      } else {
        // `:pth=...` is a misspelt option rather than an action (actions come after "=", or are one word)
        const guess = key !== undefined && !ACTION_WORDS.includes(key) ? closest(key, OPTION_KEYS) : undefined;
        if (guess !== undefined) fail(`unknown option "${key}" (did you mean "${guess}"?)`);
        action = seg;
      }
    } else if (rest === '') {
      fail('missing "=ACTION" (like "=EIO", "=delay=100ms", "=short=1" or "=kill")');
    } else {
      fail(`unexpected ${JSON.stringify(rest.slice(0, 20))} (options are ":key=value", the action comes after "=")`);
    }
  }
  const parsedAction = parseAction(action ?? '');
  if (typeof parsedAction === 'string') fail(parsedAction);
  rule.action = parsedAction;

  const parsed = ruleSchema(syscallTable()).safeParse(rule);
  if (!parsed.success) {
    const issue = describePlanIssues(parsed.error.issues, rule);
    const field = issue.field.replace(/^probability\b/, 'p');
    const others = issue.others.map((o) => `; ${o.field.replace(/^probability\b/, 'p') || 'rule'}: ${o.message}`).join('');
    fail(`${field === '' ? 'rule' : field}: ${issue.message}${others}`);
  }
  return rule as RuleInput;
}

function optionField(key: OptionKey): string {
  return key === 'p' ? 'probability' : key;
}

/** Numbers where they look like numbers; anything else is left as text for the schema to reject by name. */
function optionValue(key: OptionKey, text: string): unknown {
  switch (key) {
    case 'after':
    case 'limit':
      return /^\d+$/.test(text) ? Number(text) : text;
    case 'p': {
      const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
      if (pct) return Number(pct[1]) / 100;
      return /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(text) ? Number(text) : text;
    }
    default:
      return text;
  }
}

/** The action part, as an action object, or an error phrase. */
function parseAction(text: string): ActionInput | string {
  const bad = `expected an action (ERRNO, delay=MS, short=N, kill[=SIGNAL], kill-after[=SIGNAL], torn=N|P%|seeded, powercut, powercut-after, refuse, blackhole, reset[=N|DURATION] or close[=N|DURATION]), got ${JSON.stringify(text)}`;
  const [word = '', value, ...extra] = text.split('=');
  if (extra.length > 0) return bad;
  const num = (t: string): string | number => (/^\d+$/.test(t) ? Number(t) : t);
  switch (word) {
    case 'kill':
      return { kill: value === undefined ? 'SIGKILL' : num(value) };
    case 'kill-after':
      return { kill: value === undefined ? 'SIGKILL' : num(value), when: 'after' };
    case 'powercut':
    case 'powercut-after':
      if (value !== undefined) return bad;
      return word === 'powercut' ? { powercut: true } : { powercut: true, when: 'after' };
    case 'torn': {
      if (value === undefined) return bad;
      if (value === 'seeded') return { torn: 'seeded' };
      const pct = /^(\d+(?:\.\d+)?)%$/.exec(value);
      if (pct) return { torn: { fraction: Number(pct[1]) / 100 } };
      return { torn: num(value) as number };
    }
    case 'refuse':
    case 'blackhole':
      return value === undefined ? (word === 'refuse' ? { refuse: true } : { blackhole: true }) : bad;
    case 'reset':
    case 'close': {
      const dur = value === undefined ? null : /^(\d+(?:\.\d+)?)(ms|s)$/.exec(value);
      if (value !== undefined && !dur && !/^\d+$/.test(value)) return bad;
      const after = value === undefined ? {} : dur ? { afterMs: Number(dur[1]) * (dur[2] === 's' ? 1000 : 1) } : { afterBytes: Number(value) };
      return word === 'reset' ? { reset: true, ...after } : { close: true, ...after };
    }
    case 'errno':
      return value === undefined ? bad : { errno: num(value) };
    case 'short':
      return value === undefined ? bad : { short: num(value) as number };
    case 'delay': {
      if (value === undefined) return bad;
      const m = /^(\d+(?:\.\d+)?)(ms|s)?(?:\+(\d+(?:\.\d+)?)(ms|s)?)?$/.exec(value);
      if (!m) return `expected delay=DURATION like delay=200ms, delay=1s or delay=200+50ms, got ${JSON.stringify(text)}`;
      const unit = m[4] ?? m[2];
      const ms = (n: string | undefined, u: string | undefined): number => Number(n ?? 0) * ((u ?? unit) === 's' ? 1000 : 1);
      const delayMs = ms(m[1], m[2]);
      return m[3] === undefined ? { delayMs } : { delayMs, jitterMs: ms(m[3], m[4]) };
    }
    default:
      if (value !== undefined || word === '') return bad;
      return { errno: num(word) };
  }
}
