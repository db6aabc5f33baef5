//! HAProxy: the settings that bound connections, as read from its configuration (`-f`, files
//! or directories), its command line (`-n`) and, when reachable, its stats socket
//! (`show info`: Maxconn, Maxsock, Ulimit-n). Pure parsers; the Linux part reads a running
//! process. The model derives the ceiling (docs/runtimes.md).

use crate::snapshot::target::TargetFs;
use crate::snapshot::{Haproxy, HaproxyFrontend, HaproxyInfo};

/// Bytes read per file and per stats answer (bounded reads).
const MAX_BYTES: u64 = 4 << 20;

#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub msg: String,
}

/// Split a line into words: `#` starts a comment, quotes group, backslash escapes.
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut w = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut it = line.chars();
    while let Some(c) = it.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => w.push(c),
            (None, '#') => break,
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = it.next() {
                    w.push(n);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut w));
                    in_word = false;
                }
            }
            (None, c) => {
                w.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(w);
    }
    Ok(out)
}

/// Listening sockets a `bind` line opens: one per comma-separated address, each port of a
/// range `8080-8083` counting once.
fn bind_count(addr: &str) -> u64 {
    addr.split(',')
        .filter(|a| !a.is_empty())
        .map(|a| {
            let port = a.rsplit(':').next().unwrap_or("");
            match port.split_once('-') {
                Some((lo, hi)) => match (lo.parse::<u64>(), hi.parse::<u64>()) {
                    (Ok(l), Ok(h)) if h >= l => h - l + 1,
                    _ => 1,
                },
                None => 1,
            }
        })
        .sum()
}

/// The TCP ports of a `bind` address list (`:80,127.0.0.1:8080-8083`), as inclusive ranges;
/// Unix sockets and unreadable ports are left out.
fn bind_ports(addr: &str) -> Vec<[u16; 2]> {
    addr.split(',')
        .filter(|a| {
            !a.is_empty()
                && !a.starts_with('/')
                && !a.starts_with("unix@")
                && !a.starts_with("abns@")
        })
        .filter_map(|a| {
            let port = a.rsplit(':').next()?;
            match port.split_once('-') {
                Some((lo, hi)) => Some([lo.parse().ok()?, hi.parse().ok()?]),
                None => port.parse().ok().map(|p| [p, p]),
            }
        })
        .filter(|[lo, hi]| lo <= hi)
        .collect()
}

/// Parse configuration files in order (`files`: (name, text)). `defaults maxconn` applies
/// to the proxies that follow it, as in HAProxy.
pub fn parse(files: &[(String, String)]) -> Result<Haproxy, ParseError> {
    let mut h = Haproxy {
        config: files
            .iter()
            .map(|f| f.0.clone())
            .collect::<Vec<_>>()
            .join(", "),
        ..Default::default()
    };
    let mut section = String::new();
    let mut defaults_maxconn: Option<u64> = None;
    // per frontend: the sum of its binds' maxconn, None once a bind has none
    let mut bind_caps: Vec<Option<u64>> = Vec::new();
    for (file, text) in files {
        for (idx, raw) in text.lines().enumerate() {
            let err = |msg: String| ParseError {
                file: file.clone(),
                line: idx + 1,
                msg,
            };
            let w = words(raw).map_err(err)?;
            let Some(key) = w.first().map(String::as_str) else {
                continue;
            };
            let num = |i: usize| -> Result<u64, ParseError> {
                w.get(i)
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| err(format!("{}: expected a number", w[..i].join(" "))))
            };
            match key {
                "global" | "defaults" | "backend" | "peers" | "resolvers" | "userlist"
                | "program" | "cache" | "ring" | "http-errors" | "mailers" | "crt-store"
                | "traces" => {
                    section = key.to_string();
                    continue;
                }
                "frontend" | "listen" => {
                    section = key.to_string();
                    h.frontends.push(HaproxyFrontend {
                        name: w.get(1).cloned().unwrap_or_default(),
                        maxconn: None,
                        defaults_maxconn,
                        binds: 0,
                        bind_maxconn: None,
                        ports: Vec::new(),
                    });
                    bind_caps.push(Some(0));
                    continue;
                }
                _ => {}
            }
            let sub = w.get(1).map(String::as_str);
            match (section.as_str(), key, sub) {
                ("global", "maxconn", _) => h.global_maxconn = Some(num(1)?),
                ("global", "nbthread", _) => h.nbthread = Some(num(1)?),
                ("global", "fd-hard-limit", _) => h.fd_hard_limit = Some(num(1)?),
                ("global", "ulimit-n", _) => h.ulimit_n = Some(num(1)?),
                ("global", "stats", Some("socket")) => {
                    let path = w.get(2).cloned().unwrap_or_default();
                    h.listeners += 1;
                    h.stats_sockets.push(path);
                }
                ("global", "stats", Some("maxconn")) => h.stats_maxconn = Some(num(2)?),
                ("defaults", "maxconn", _) => defaults_maxconn = Some(num(1)?),
                ("frontend" | "listen", "maxconn", _) => {
                    let v = num(1)?;
                    if let Some(f) = h.frontends.last_mut() {
                        f.maxconn = Some(v);
                    }
                }
                ("frontend" | "listen", "bind", Some(addr)) => {
                    let n = bind_count(addr);
                    h.listeners += n;
                    if let Some(f) = h.frontends.last_mut() {
                        f.binds += n;
                        f.ports.extend(bind_ports(addr));
                    }
                    // `maxconn N` among the bind options caps each listener of the line
                    // (HAProxy configuration manual, 5.1 "Bind options": maxconn)
                    let cap = match w.iter().skip(2).position(|o| o == "maxconn") {
                        Some(i) => Some(num(i + 3)?),
                        None => None,
                    };
                    if let Some(b) = bind_caps.last_mut() {
                        *b = match (*b, cap) {
                            (Some(sum), Some(c)) => Some(sum.saturating_add(c.saturating_mul(n))),
                            _ => None,
                        };
                    }
                }
                _ => {}
            }
        }
    }
    for (f, cap) in h.frontends.iter_mut().zip(bind_caps) {
        f.bind_maxconn = cap.filter(|_| f.binds > 0);
    }
    h.frontends.retain(|f| f.binds > 0);
    Ok(h)
}

/// Parse a stats socket's `show info` answer ("Key: value" lines).
pub fn parse_show_info(text: &str) -> Option<HaproxyInfo> {
    let get = |k: &str| -> Option<u64> {
        text.lines().find_map(|l| {
            let (key, v) = l.split_once(':')?;
            (key.trim() == k).then(|| v.trim().parse().ok())?
        })
    };
    Some(HaproxyInfo {
        maxconn: get("Maxconn")?,
        maxsock: get("Maxsock"),
        ulimit_n: get("Ulimit-n"),
        curr_conns: get("CurrConns"),
        nbthread: get("Nbthread"),
    })
}

/// Configuration files read per directory (HAProxy reads them all: more is an error here,
/// not a silent cut).
const MAX_DIR_FILES: usize = 512;

/// The configuration files named by `-f` (a file, or a directory: its `*.cfg` files in
/// lexical order, as HAProxy does), read as the process would read them (`fs`). Errors name
/// the file, never its content.
pub fn read_files(fs: &TargetFs, names: &[String]) -> Result<Vec<(String, String)>, ParseError> {
    let mut out = Vec::new();
    for n in names {
        let err = |e: String| ParseError {
            file: n.clone(),
            line: 0,
            msg: e,
        };
        if fs.is_dir(n) {
            let mut files: Vec<String> = fs
                .list(n)
                .map_err(|e| err(format!("cannot list: {e}")))?
                .into_iter()
                .map(|(f, _)| f)
                .filter(|f| f.ends_with(".cfg"))
                .collect();
            if files.len() > MAX_DIR_FILES {
                return Err(err(format!(
                    "{} .cfg files; porttune reads at most {MAX_DIR_FILES}",
                    files.len()
                )));
            }
            files.sort();
            for f in files {
                let full = format!("{}/{f}", n.trim_end_matches('/'));
                let t = fs
                    .read(&full, MAX_BYTES)
                    .map_err(|e| err(format!("{full}: {e}")))?;
                out.push((full, t));
            }
        } else {
            out.push((n.clone(), fs.read(n, MAX_BYTES).map_err(err)?));
        }
    }
    Ok(out)
}

/// `-f FILE` (repeatable), `-- FILE...`, `-n MAXCONN` from HAProxy's command line.
pub fn cmdline_args(cmdline: &[String]) -> (Vec<String>, Option<u64>) {
    let mut files = Vec::new();
    let mut maxconn = None;
    let mut i = 1;
    while i < cmdline.len() {
        match cmdline[i].as_str() {
            "-f" => {
                if let Some(f) = cmdline.get(i + 1) {
                    files.push(f.clone());
                }
                i += 1;
            }
            "-n" => {
                maxconn = cmdline.get(i + 1).and_then(|v| v.parse().ok());
                i += 1;
            }
            "--" => {
                files.extend(cmdline[i + 1..].iter().cloned());
                break;
            }
            "-p" | "-L" | "-C" | "-m" | "-N" | "-x" | "-S" | "-sf" | "-st" => i += 1,
            _ => {}
        }
        i += 1;
    }
    (files, maxconn)
}

/// Ask a stats socket for `show info`, bounded in time and size. `socket` is the path the
/// configuration names (`unix@` prefix allowed); the caller has checked that the process
/// listens there; it is reached through the process's root (`fs`).
#[cfg(unix)]
pub fn show_info(fs: &TargetFs, socket: &str) -> Result<HaproxyInfo, String> {
    use std::io::{Read, Write};
    let path = stats_path(socket).ok_or_else(|| "not a unix socket path".to_string())?;
    let mut s = fs.dial_unix(path, std::time::Duration::from_millis(1000))?;
    s.write_all(b"show info\n")
        .map_err(|e| format!("{path}: {e}"))?;
    let mut buf = Vec::new();
    s.take(1 << 16)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{path}: {e}"))?;
    parse_show_info(&String::from_utf8_lossy(&buf))
        .ok_or_else(|| format!("{path}: no Maxconn in the answer to show info"))
}

/// Whether a Unix socket the process bound (`bound`, as /proc/net/unix shows it) is the one
/// at `path`: the same path, or HAProxy's temporary name `PATH.PID.tmp`, which it binds and
/// then renames to PATH.
pub fn is_bound_as(bound: &str, path: &str) -> bool {
    bound == path
        || bound
            .strip_prefix(path)
            .and_then(|r| r.strip_prefix('.'))
            .and_then(|r| r.strip_suffix(".tmp"))
            .is_some_and(|pid| !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()))
}

/// The file system path of a `stats socket` address (`/run/haproxy.sock`,
/// `unix@/run/haproxy.sock`); None for a TCP or abstract address.
pub fn stats_path(socket: &str) -> Option<&str> {
    let path = socket.strip_prefix("unix@").unwrap_or(socket);
    path.starts_with('/').then_some(path)
}

#[cfg(target_os = "linux")]
pub use linux::{chroot_of, master_of, process, threads};

/// The process whose view of the file system HAProxy read its configuration with: `pid`
/// itself (no master to read through off Linux).
#[cfg(not(target_os = "linux"))]
pub fn master_of(_root: &std::path::Path, pid: u32) -> u32 {
    pid
}

#[cfg(not(target_os = "linux"))]
pub fn chroot_of(_root: &std::path::Path, _pid: u32) -> Option<String> {
    None
}

#[cfg(target_os = "linux")]
mod linux {
    use std::path::Path;

    use crate::snapshot::HaproxyProcess;
    use crate::snapshot::linux as l;

    use crate::snapshot::target::ppid;

    fn is_haproxy(root: &Path, pid: u32) -> bool {
        std::fs::read_link(root.join(pid.to_string()).join("exe"))
            .map(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.trim_end_matches(" (deleted)") == "haproxy")
            })
            .unwrap_or(false)
    }

    /// Threads of a process (/proc/PID/status).
    /// The master of a master-worker HAProxy (`-W`, `-Ws`: Debian's unit) when `pid` is its
    /// worker, else `pid`. The worker runs in the configuration's `chroot` (Debian's default
    /// config has `chroot /var/lib/haproxy`), where its `-f` file and stats socket paths do
    /// not exist; the master read the configuration before any chroot and stays outside it
    /// (HAProxy management guide, "Master-worker mode"; haproxy.c chroots only the workers).
    pub fn master_of(root: &Path, pid: u32) -> u32 {
        match ppid(root, pid) {
            Some(p) if p != pid && is_haproxy(root, p) => p,
            _ => pid,
        }
    }

    /// The directory a process is chrooted in, when its root is not the namespace's `/`.
    pub fn chroot_of(root: &Path, pid: u32) -> Option<String> {
        let r = std::fs::read_link(root.join(pid.to_string()).join("root")).ok()?;
        (r != Path::new("/")).then(|| r.display().to_string())
    }

    pub fn threads(root: &Path, pid: u32) -> Option<u64> {
        let st = std::fs::read_to_string(root.join(pid.to_string()).join("status")).ok()?;
        st.lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse().ok())
    }

    /// The process that holds the connections: the newest haproxy child in master-worker
    /// mode (`-W`/`-Ws`), else `pid` itself.
    pub fn process(root: &Path, pid: u32) -> Option<HaproxyProcess> {
        let worker = std::fs::read_dir(root)
            .ok()?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|p| ppid(root, *p) == Some(pid) && is_haproxy(root, *p))
            .max()
            .unwrap_or(pid);
        let who = worker.to_string();
        let (nofile, _) = l::limits(root, &who).ok()?;
        let table = l::tcp_sockets(&l::Roots::at(root), &who, &mut Vec::new());
        let fds = l::FdTable::read(root, &who);
        Some(HaproxyProcess {
            pid: worker,
            nofile,
            open_fds: fds
                .as_ref()
                .map_or(0, |f| f.count_below(nofile.soft.value())),
            connections: fds.map_or(0, |f| f.tcp_sockets(&table).connections),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_config() {
        let cfg = "global\n    maxconn 4000\n    nbthread 2 # two\n    stats socket /run/haproxy.sock mode 660 level admin\n\
                   defaults\n    mode http\n    maxconn 300\n\
                   frontend web\n    bind :80,:81\n    bind 127.0.0.1:9000-9002\n    default_backend app\n\
                   frontend admin\n    bind :8404\n    maxconn 10\n\
                   backend app\n    server a 127.0.0.1:8080 maxconn 50\n\
                   listen nobind\n    server b 127.0.0.1:1\n";
        let h = parse(&[("h.cfg".into(), cfg.into())]).unwrap();
        assert_eq!(h.global_maxconn, Some(4000));
        assert_eq!(h.nbthread, Some(2));
        assert_eq!(h.stats_sockets, vec!["/run/haproxy.sock".to_string()]);
        assert_eq!(h.listeners, 1 + 5 + 1, "stats socket, 2 + 3 binds, 1 bind");
        assert_eq!(h.frontends.len(), 2, "a proxy without bind accepts nothing");
        assert_eq!(h.frontends[0].defaults_maxconn, Some(300));
        assert_eq!(h.frontends[1].maxconn, Some(10));
        assert_eq!(
            h.frontends[0].bind_maxconn, None,
            "no bind of web has maxconn"
        );
        let b = parse(&[(
            "b.cfg".into(),
            "frontend a\n    bind :80,:81 maxconn 40 accept-proxy\n    bind :82 maxconn 5\nfrontend b\n    bind :90 maxconn 7\n    bind :91\n".into(),
        )])
        .unwrap();
        assert_eq!(b.frontends[0].bind_maxconn, Some(2 * 40 + 5));
        assert_eq!(b.frontends[1].bind_maxconn, None, "one bind has no cap");
        assert_eq!(b.frontends[0].ports, vec![[80, 80], [81, 81], [82, 82]]);
        assert_eq!(
            bind_ports("127.0.0.1:9000-9002,/run/x.sock,[::]:443,:bad"),
            vec![[9000, 9002], [443, 443]]
        );
        let e = parse(&[("h.cfg".into(), "global\n  maxconn lots\n".into())]).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("h.cfg", 2));
        let e = parse(&[("h.cfg".into(), "global\n  log \"x\n".into())]).unwrap_err();
        assert!(e.msg.contains("quote"), "{e:?}");
    }

    #[test]
    fn stats_socket_bound_names() {
        assert!(is_bound_as("/run/h.sock", "/run/h.sock"));
        assert!(is_bound_as("/run/h.sock.123.tmp", "/run/h.sock"));
        assert!(!is_bound_as("/run/h.sock.x.tmp", "/run/h.sock"));
        assert!(!is_bound_as("/run/h.sock2", "/run/h.sock"));
        assert!(!is_bound_as("/run/other.sock", "/run/h.sock"));
        assert_eq!(stats_path("unix@/run/h.sock"), Some("/run/h.sock"));
        assert_eq!(stats_path("ipv4@127.0.0.1:9999"), None);
    }

    #[test]
    fn show_info_and_cmdline() {
        let i = parse_show_info("Name: HAProxy\nMaxsock: 1024\nMaxconn: 498\nHard_maxconn: 498\nUlimit-n: 1024\nCurrConns: 3\nNbthread: 2\n").unwrap();
        assert_eq!(
            (i.maxconn, i.maxsock, i.ulimit_n, i.curr_conns, i.nbthread),
            (498, Some(1024), Some(1024), Some(3), Some(2))
        );
        assert!(parse_show_info("Unknown command\n").is_none());
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (f, n) = cmdline_args(&c(&[
            "haproxy",
            "-Ws",
            "-f",
            "/etc/haproxy/haproxy.cfg",
            "-p",
            "/run/h.pid",
            "-n",
            "500",
            "-f",
            "/etc/haproxy/conf.d",
        ]));
        assert_eq!(f, c(&["/etc/haproxy/haproxy.cfg", "/etc/haproxy/conf.d"]));
        assert_eq!(n, Some(500));
    }
}
