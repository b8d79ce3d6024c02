/**
 * Address filters of a rule (`addr`): which peer a connect() or a socket's I/O must have for the rule to match.
 *
 * Accepted forms (a port is 1..65535; a prefix is a CIDR length):
 *   host:port     127.0.0.1:6379, localhost:6379
 *   host          127.0.0.1                  (any port)
 *   :port         :6379                      (any host, IPv4 or IPv6)
 *   [v6]:port     [::1]:6379, [fd00::]/8:443, [fd00::/8]:443
 *   v6            ::1, fd00::1               (any port; a port needs the brackets)
 *   CIDR          10.0.0.0/8, 10.0.0.0/8:80, fd00::/8, fd00::/8:443
 * The host is an IP literal or `localhost`, which means 127.0.0.1 only (names are never resolved: a plan must
 * not depend on DNS). IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are folded to IPv4, as the engines fold the
 * addresses they see. Bits past a CIDR prefix are cleared (10.1.2.3/8 is 10.0.0.0/8).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A parsed address filter, in the shape of the wire format's `struct sf_addr`. */
export interface AddrFilter {
  /** 0 (any host: a ":port" filter), 4 or 6. */
  readonly family: 0 | 4 | 6;
  /** CIDR prefix length; 32 or 128 for a single host, 0 for family 0. */
  readonly prefix: number;
  /** Port in host order; 0 means any port. */
  readonly port: number;
  /** The address: IPv4 in bytes 0..3, IPv6 in all 16; zero for family 0. */
  readonly bytes: Uint8Array;
  /** Canonical text form, e.g. `127.0.0.1:6379`, `[::1]:80`, `10.0.0.0/8`, `:53`. */
  readonly text: string;
}

/** Parses an address filter; returns an error phrase (without the value) when it is invalid. */
export function parseAddr(input: string): AddrFilter | { error: string } {
  const text = input.trim();
  if (text === '') return { error: 'empty address' };
  if (text.startsWith(':') && !text.startsWith('::')) {
    const port = parsePort(text.slice(1));
    if (port === undefined) return { error: 'expected ":PORT" with a port from 1 to 65535' };
    return finish(0, new Uint8Array(16), 0, port);
  }

  let host: string;
  let prefixText: string | undefined;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const m = /^\[([^\]]*)\](?:\/(\d+))?(?::(.*))?$/.exec(text);
    if (!m) return { error: 'expected "[IPv6]", "[IPv6]:PORT" or "[IPv6]/LEN:PORT"' };
    host = m[1] ?? '';
    prefixText = m[2];
    portText = m[3];
    const slash = host.indexOf('/');
    if (slash >= 0) {
      if (prefixText !== undefined) return { error: 'two prefix lengths' };
      prefixText = host.slice(slash + 1);
      host = host.slice(0, slash);
    }
    if (!isIPv6(host) || host.includes('%')) return { error: 'expected an IPv6 address inside the brackets' };
  } else {
    const slash = text.indexOf('/');
    if (slash >= 0) {
      host = text.slice(0, slash);
      const m = /^(\d+)(?::(.*))?$/.exec(text.slice(slash + 1));
      if (!m) return { error: 'expected "/LEN" or "/LEN:PORT" after the address' };
      prefixText = m[1];
      portText = m[2];
    } else if (text.split(':').length > 2) {
      host = text; // a bare IPv6 address: no port without brackets
    } else {
      const colon = text.indexOf(':');
      host = colon >= 0 ? text.slice(0, colon) : text;
      portText = colon >= 0 ? text.slice(colon + 1) : undefined;
    }
  }

  let port = 0;
  if (portText !== undefined) {
    const p = parsePort(portText);
    if (p === undefined) return { error: 'expected a port from 1 to 65535' };
    port = p;
  }

  if (host === 'localhost') host = '127.0.0.1';
  let family: 4 | 6;
  let bytes: Uint8Array;
  if (isIPv4(host)) {
    family = 4;
    bytes = new Uint8Array(16);
    bytes.set(host.split('.').map(Number));
  } else if (isIPv6(host) && !host.includes('%')) {
    family = 6;
    bytes = ipv6Bytes(host);
  } else {
    return { error: 'expected an IP address or "localhost" (host names are not resolved)' };
  }

  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      return { error: `expected a prefix length from 0 to ${max}` };
    }
    prefix = Number(prefixText);
  }
  if (family === 6 && prefix >= 96 && isV4Mapped(bytes)) {
    const v4 = new Uint8Array(16);
    v4.set(bytes.subarray(12, 16));
    family = 4;
    bytes = v4;
    prefix -= 96;
  }
  return finish(family, bytes, prefix, port);
}

function finish(family: 0 | 4 | 6, bytes: Uint8Array, prefix: number, port: number): AddrFilter {
  for (let bit = prefix; bit < (family === 6 ? 128 : family === 4 ? 32 : 0); bit++) {
    const i = bit >> 3;
    bytes[i] = (bytes[i] ?? 0) & ~(0x80 >> (bit & 7));
  }
  return { family, prefix, port, bytes, text: formatAddr(family, bytes, prefix, port) };
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** 16 bytes of a valid IPv6 literal (as checked by net.isIPv6), including the embedded-IPv4 form. */
function ipv6Bytes(text: string): Uint8Array {
  let s = text;
  const v4words: number[] = [];
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    v4words.push((a << 8) | b, (c << 8) | d);
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  let words: number[];
  const gap = s.indexOf('::');
  if (gap >= 0) {
    const left = groups(s.slice(0, gap));
    const right = [...groups(s.slice(gap + 2)), ...v4words];
    words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    words = [...groups(s), ...v4words];
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

function formatAddr(family: 0 | 4 | 6, bytes: Uint8Array, prefix: number, port: number): string {
  if (family === 0) return `:${port}`;
  let host: string;
  if (family === 4) {
    host = Array.from(bytes.subarray(0, 4)).join('.');
  } else {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push((((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0)).toString(16));
    host = compressV6(groups);
  }
  const cidr = prefix === (family === 4 ? 32 : 128) ? '' : `/${prefix}`;
  if (family === 6 && port !== 0) return `[${host}]${cidr}:${port}`;
  return `${host}${cidr}${port !== 0 ? `:${port}` : ''}`;
}

/** RFC 5952 text: the longest run (>= 2) of zero groups becomes "::". */
function compressV6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
