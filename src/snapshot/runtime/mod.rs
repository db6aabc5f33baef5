//! Runtime detection and runtime caps: Erlang/OTP, JVM, Go, Node.js, Python, nginx, HAProxy.

pub mod erlang;
pub mod haproxy;
pub mod nginx;

use super::RuntimeKind;

/// Guess the runtime from the executable path and command line.
pub fn detect(exe: Option<&str>, cmdline: &[String]) -> Option<RuntimeKind> {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let names: Vec<String> = exe
        .map(base)
        .into_iter()
        .chain(cmdline.first().map(|s| base(s)))
        .collect();
    for n in &names {
        let n = n.trim_end_matches(" (deleted)");
        let kind = match n {
            "beam.smp" | "beam" | "erl" | "erlexec" => RuntimeKind::Erlang,
            "java" => RuntimeKind::Jvm,
            "node" | "nodejs" => RuntimeKind::Node,
            "nginx" => RuntimeKind::Nginx,
            "haproxy" => RuntimeKind::Haproxy,
            _ if n.starts_with("python") => RuntimeKind::Python,
            _ => continue,
        };
        return Some(kind);
    }
    None
}

/// Whether a runtime raises its soft RLIMIT_NOFILE to the hard limit at start
/// (limits-facts.md 10.8–10.12). macOS JVMs cap it; see the model.
pub fn raises_soft_to_hard(kind: RuntimeKind) -> bool {
    matches!(kind, RuntimeKind::Go | RuntimeKind::Jvm | RuntimeKind::Node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects() {
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            detect(Some("/usr/lib/erlang/erts-13.1.5/bin/beam.smp"), &[]),
            Some(RuntimeKind::Erlang)
        );
        assert_eq!(
            detect(Some("/usr/bin/python3.11"), &[]),
            Some(RuntimeKind::Python)
        );
        assert_eq!(
            detect(
                None,
                &c(&["/usr/lib/jvm/java-17/bin/java", "-jar", "x.jar"])
            ),
            Some(RuntimeKind::Jvm)
        );
        assert_eq!(detect(Some("/usr/bin/cat"), &c(&["cat"])), None);
        assert!(raises_soft_to_hard(RuntimeKind::Node));
        assert!(!raises_soft_to_hard(RuntimeKind::Erlang));
    }
}
