//! client: the HTTP/1.1 load of sysfault's soak (bench/soak.js), std only.
//!
//! Usage: client ITEM_ADDR PROBE_ADDR RATE SECONDS CONNS
//!
//! CONNS threads, each with two keep-alive connections: one to ITEM_ADDR asking `GET /item`, one to PROBE_ADDR
//! asking `GET /healthz`, used in turn. Together the threads send at most RATE requests a second for SECONDS
//! seconds, one request at a time per connection. Any I/O error is counted by its errno, the connection is
//! dropped and made again at its next turn. At the end one line sums up what the program saw:
//!
//! `client requests=.. items=.. probes=.. ok=.. status500=.. other_status=.. aborted=.. connects=..
//!  connect_errors=.. send_calls=.. recv_calls=.. probe_recv_calls=.. write_errors=.. read_errors=.. eofs=..
//!  protocol_errors=.. connect_errnos=ECONNREFUSED:3 write_errnos= read_errnos=ECONNRESET:2`
//!
//! std's TcpStream reads with recv(2) and writes with send(2) (the syscalls recvfrom and sendto); every call the
//! program makes is counted here, so a syscall counter outside can be compared with these numbers exactly.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: client ITEM_ADDR PROBE_ADDR RATE SECONDS CONNS";
const READ_CHUNK: usize = 2048; // a 4 KiB response takes a few recv calls
const READ_TIMEOUT: Duration = Duration::from_secs(10); // a stalled response is an error (EAGAIN), not a hang

#[derive(Default)]
struct Tally {
    requests: u64,
    items: u64,
    probes: u64,
    ok: u64,
    status500: u64,
    other_status: u64,
    aborted: u64,
    connects: u64,
    connect_errors: u64,
    send_calls: u64,
    recv_calls: u64,
    probe_recv_calls: u64,
    write_errors: u64,
    read_errors: u64,
    eofs: u64,
    protocol_errors: u64,
    connect_errnos: BTreeMap<String, u64>,
    write_errnos: BTreeMap<String, u64>,
    read_errnos: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        let pairs = [
            (&mut self.requests, o.requests),
            (&mut self.items, o.items),
            (&mut self.probes, o.probes),
            (&mut self.ok, o.ok),
            (&mut self.status500, o.status500),
            (&mut self.other_status, o.other_status),
            (&mut self.aborted, o.aborted),
            (&mut self.connects, o.connects),
            (&mut self.connect_errors, o.connect_errors),
            (&mut self.send_calls, o.send_calls),
            (&mut self.recv_calls, o.recv_calls),
            (&mut self.probe_recv_calls, o.probe_recv_calls),
            (&mut self.write_errors, o.write_errors),
            (&mut self.read_errors, o.read_errors),
            (&mut self.eofs, o.eofs),
            (&mut self.protocol_errors, o.protocol_errors),
        ];
        for (mine, theirs) in pairs {
            *mine += theirs;
        }
        for (mine, theirs) in [
            (&mut self.connect_errnos, o.connect_errnos),
            (&mut self.write_errnos, o.write_errnos),
            (&mut self.read_errnos, o.read_errnos),
        ] {
            for (name, n) in theirs {
                *mine.entry(name).or_default() += n;
            }
        }
    }

    fn line(&self) -> String {
        let errnos = |m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(",");
        format!(
            "client requests={} items={} probes={} ok={} status500={} other_status={} aborted={} connects={} \
             connect_errors={} send_calls={} recv_calls={} probe_recv_calls={} write_errors={} read_errors={} eofs={} \
             protocol_errors={} connect_errnos={} write_errnos={} read_errnos={}",
            self.requests,
            self.items,
            self.probes,
            self.ok,
            self.status500,
            self.other_status,
            self.aborted,
            self.connects,
            self.connect_errors,
            self.send_calls,
            self.recv_calls,
            self.probe_recv_calls,
            self.write_errors,
            self.read_errors,
            self.eofs,
            self.protocol_errors,
            errnos(&self.connect_errnos),
            errnos(&self.write_errnos),
            errnos(&self.read_errnos),
        )
    }
}

/// Linux errno values (asm-generic/errno-base.h, errno.h; x86-64 and arm64) of the errors a socket client meets,
/// without the libc crate.
const ERRNO_NAMES: &[(i32, &str)] = &[
    (4, "EINTR"),
    (5, "EIO"),
    (11, "EAGAIN"),
    (32, "EPIPE"),
    (99, "EADDRNOTAVAIL"),
    (101, "ENETUNREACH"),
    (103, "ECONNABORTED"),
    (104, "ECONNRESET"),
    (107, "ENOTCONN"),
    (110, "ETIMEDOUT"),
    (111, "ECONNREFUSED"),
    (113, "EHOSTUNREACH"),
];

/// The errno's name; another errno as E<number>, and an error that is not the system's as its kind.
fn errno_name(e: &io::Error) -> String {
    let Some(n) = e.raw_os_error() else { return format!("{:?}", e.kind()) };
    match ERRNO_NAMES.iter().find(|(v, _)| *v == n) {
        Some((_, name)) => name.to_string(),
        None => format!("E{n}"),
    }
}

fn bump(m: &mut BTreeMap<String, u64>, e: &io::Error) {
    *m.entry(errno_name(e)).or_default() += 1;
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Item,
    Probe,
}

/// One keep-alive connection, made on demand and dropped on any error.
struct Conn {
    addr: SocketAddr,
    kind: Kind,
    request: Vec<u8>,
    stream: Option<TcpStream>,
}

enum Outcome {
    Response(u16),
    Aborted,
}

impl Conn {
    fn new(addr: SocketAddr, kind: Kind) -> Conn {
        let path = if kind == Kind::Item { "/item" } else { "/healthz" };
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: sysfault-soak\r\n\r\n").into_bytes();
        Conn { addr, kind, request, stream: None }
    }

    /// Connects when not connected: one connect(2) call (std retries only EINTR, which is not expected here).
    fn ensure(&mut self, t: &mut Tally) -> bool {
        if self.stream.is_some() {
            return true;
        }
        t.connects += 1;
        match TcpStream::connect(self.addr) {
            Ok(s) => {
                let ready = s.set_nodelay(true).and_then(|_| s.set_read_timeout(Some(READ_TIMEOUT)));
                if let Err(e) = ready {
                    eprintln!("client: socket options: {e}");
                    std::process::exit(1);
                }
                self.stream = Some(s);
                true
            }
            Err(e) => {
                t.connect_errors += 1;
                bump(&mut t.connect_errnos, &e);
                false
            }
        }
    }

    /// Sends the request with one send call per write() (a short send continues), counting every call.
    fn send(&mut self, t: &mut Tally) -> bool {
        let stream = self.stream.as_mut().expect("connected");
        let mut off = 0;
        while off < self.request.len() {
            t.send_calls += 1;
            match stream.write(&self.request[off..]) {
                Ok(0) => {
                    t.protocol_errors += 1;
                    self.stream = None;
                    return false;
                }
                Ok(n) => off += n,
                Err(e) => {
                    t.write_errors += 1;
                    bump(&mut t.write_errnos, &e);
                    self.stream = None;
                    return false;
                }
            }
        }
        true
    }

    /// Reads one response (status line, headers with Content-Length, body), counting every recv call.
    fn receive(&mut self, t: &mut Tally) -> Outcome {
        let stream = self.stream.as_mut().expect("connected");
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        let mut chunk = [0u8; READ_CHUNK];
        let mut head: Option<(u16, usize, Framing)> = None; // (status, header length, body framing)
        loop {
            if let Some((status, header_len, framing)) = head {
                match framing.complete(&buf[header_len..]) {
                    Some(true) => return Outcome::Response(status),
                    Some(false) => {}
                    None => break, // malformed, or more than one response: the server answered what was not asked
                }
            }
            t.recv_calls += 1;
            if self.kind == Kind::Probe {
                t.probe_recv_calls += 1;
            }
            match stream.read(&mut chunk) {
                Ok(0) => {
                    t.eofs += 1;
                    self.stream = None;
                    return Outcome::Aborted;
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => {
                    t.read_errors += 1;
                    bump(&mut t.read_errnos, &e);
                    self.stream = None;
                    return Outcome::Aborted;
                }
            }
            if head.is_none() {
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    match parse_head(&buf[..end]) {
                        Some((status, framing)) => head = Some((status, end + 4, framing)),
                        None => break,
                    }
                }
            }
        }
        t.protocol_errors += 1;
        self.stream = None;
        Outcome::Aborted
    }
}

/// How a response's body ends: net/http sends a Content-Length for small bodies and chunks larger ones.
#[derive(Clone, Copy)]
enum Framing {
    Length(usize),
    Chunked,
}

impl Framing {
    /// Some(true) when `body` is exactly one whole body, Some(false) when more is to come, None when malformed.
    fn complete(self, body: &[u8]) -> Option<bool> {
        match self {
            Framing::Length(n) => (body.len() <= n).then_some(body.len() == n),
            Framing::Chunked => {
                let mut pos = 0;
                loop {
                    let Some(eol) = body[pos..].windows(2).position(|w| w == b"\r\n") else { return Some(false) };
                    let line = std::str::from_utf8(&body[pos..pos + eol]).ok()?;
                    let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
                    pos += eol + 2;
                    // a chunk's data and its CRLF; the last chunk (size 0) is followed by an empty trailer line
                    if body.len() < pos + size + 2 {
                        return Some(false);
                    }
                    if &body[pos + size..pos + size + 2] != b"\r\n" {
                        return None;
                    }
                    pos += size + 2;
                    if size == 0 {
                        return (body.len() == pos).then_some(true);
                    }
                }
            }
        }
    }
}

/// The status code and body framing of a response head.
fn parse_head(head: &[u8]) -> Option<(u16, Framing)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let status = lines.next()?.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            return Some((status, Framing::Length(value.parse().ok()?)));
        }
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            return Some((status, Framing::Chunked));
        }
    }
    None
}

fn worker(item: SocketAddr, probe: SocketAddr, interval: Duration, start: Instant, deadline: Instant) -> Tally {
    let mut t = Tally::default();
    let mut conns = [Conn::new(item, Kind::Item), Conn::new(probe, Kind::Probe)];
    let mut next = start;
    for turn in 0u64.. {
        let now = Instant::now();
        if now >= deadline || next >= deadline {
            break;
        }
        if next > now {
            thread::sleep(next - now);
        }
        next += interval;
        let conn = &mut conns[(turn % 2) as usize];
        if !conn.ensure(&mut t) || !conn.send(&mut t) {
            continue;
        }
        t.requests += 1;
        match conn.receive(&mut t) {
            Outcome::Aborted => t.aborted += 1,
            Outcome::Response(status) => {
                match conn.kind {
                    Kind::Item => t.items += 1,
                    Kind::Probe => t.probes += 1,
                }
                match status {
                    200 => t.ok += 1,
                    500 => t.status500 += 1,
                    _ => t.other_status += 1,
                }
            }
        }
    }
    t
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        eprintln!("{USAGE}");
        std::process::exit(2)
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let item: SocketAddr = arg(&args, 1);
    let probe: SocketAddr = arg(&args, 2);
    let rate: f64 = arg(&args, 3);
    let seconds: f64 = arg(&args, 4);
    let conns: u32 = arg(&args, 5);
    if !(rate > 0.0) || !(seconds > 0.0) || conns == 0 {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    // each thread sends one request every CONNS/RATE seconds, the threads' turns spread evenly
    let interval = Duration::from_secs_f64(conns as f64 / rate);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..conns)
        .map(|i| {
            let first = start + interval.mul_f64(i as f64 / conns as f64);
            thread::spawn(move || worker(item, probe, interval, first, deadline))
        })
        .collect();
    let mut total = Tally::default();
    for t in threads {
        total.add(t.join().expect("a client thread panicked"));
    }
    println!("{}", total.line());
}
