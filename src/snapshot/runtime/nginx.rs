//! nginx: the few directives that bound connections (limits-facts.md 10.13).
//! `worker_connections` (default 512) caps every connection of a worker, upstream ones
//! included; each worker is also bound by its RLIMIT_NOFILE (`worker_rlimit_nofile`).
//! `include` is not followed: the operator points `--nginx-conf` at the file that has them.

use crate::snapshot::Nginx;

pub const DEFAULT_WORKER_CONNECTIONS: u64 = 512;
/// NGX_MAX_PROCESSES.
pub const MAX_WORKER_PROCESSES: u64 = 1024;
/// The largest C int (worker_connections, worker_rlimit_nofile).
pub const MAX_INT: u64 = i32::MAX as u64;

#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

/// Parse the directives that matter. `cpus` resolves `worker_processes auto`.
pub fn parse(text: &str, config: &str, cpus: u64) -> Result<Nginx, ParseError> {
    let mut n = Nginx {
        config: config.to_string(),
        worker_processes: 1,
        worker_connections: DEFAULT_WORKER_CONNECTIONS,
        worker_rlimit_nofile: None,
        proxies: false,
    };
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        // `;`, `{` and `}` all end a statement (`events { worker_connections 1000; }`).
        for stmt in line.split([';', '{', '}']) {
            let words: Vec<&str> = stmt.split_whitespace().collect();
            let Some((&key, args)) = words.split_first() else {
                continue;
            };
            // nginx's own bounds: at most 1024 worker processes (NGX_MAX_PROCESSES), the
            // others are C ints; anything larger is a typo, not a configuration.
            let num = |what: &str, max: u64| -> Result<u64, ParseError> {
                args.first()
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|v| (1..=max).contains(v))
                    .ok_or(ParseError {
                        line: idx + 1,
                        msg: format!(
                            "{what}: expected a number from 1 to {max}, got {:?}",
                            args.first().unwrap_or(&"")
                        ),
                    })
            };
            match key {
                "worker_processes" => {
                    n.worker_processes = if args.first() == Some(&"auto") {
                        cpus.max(1)
                    } else {
                        num("worker_processes", MAX_WORKER_PROCESSES)?
                    }
                }
                "worker_connections" => n.worker_connections = num("worker_connections", MAX_INT)?,
                "worker_rlimit_nofile" => {
                    n.worker_rlimit_nofile = Some(num("worker_rlimit_nofile", MAX_INT)?)
                }
                "proxy_pass" | "fastcgi_pass" | "uwsgi_pass" | "grpc_pass" => n.proxies = true,
                _ => {}
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let conf = "user www-data;\nworker_processes auto; # one per core\nworker_rlimit_nofile 65535;\nevents {\n    worker_connections 768;\n}\nhttp { server { location / { proxy_pass http://app; } } }\n";
        let n = parse(conf, "nginx.conf", 4).unwrap();
        assert_eq!(n.worker_processes, 4);
        assert_eq!(n.worker_connections, 768);
        assert_eq!(n.worker_rlimit_nofile, Some(65535));
        assert!(n.proxies);
        let one = parse(
            "worker_processes 2;\nevents { worker_connections 1000; }\n",
            "x",
            1,
        )
        .unwrap();
        assert_eq!((one.worker_processes, one.worker_connections), (2, 1000));
        let d = parse("events {}\n", "x", 2).unwrap();
        assert_eq!(
            (d.worker_processes, d.worker_connections, d.proxies),
            (1, 512, false)
        );
        let e = parse("events {\n worker_connections lots;\n}", "x", 2).unwrap_err();
        assert_eq!(e.line, 2);
    }
}
