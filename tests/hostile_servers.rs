//! Another user's server, as the catalog reads it: a process of `nobody` (through `setpriv`)
//! whose command line, environment or configuration names a file it cannot read itself (a
//! root-only file, one in a 0700 directory, its own symbolic link to a root-only file, a
//! relative name in a working directory it cannot search, and a readable file that includes
//! a root-only one). Root porttune reads what the process names as the process would: not at
//! all. The cap planted in the file is not used, the note says "not readable by uid 65534",
//! and nothing of the file is printed or saved. Controls: the same file read through a group
//! the process holds, and made world-readable, is read, so each refusal is the credentials at
//! work, not a reader that reads nothing.
//!
//! The fake servers are one small program (it only sleeps) copied under each server's name:
//! the catalog recognises a server by its executable's name and reads its command line,
//! which any user controls; that is the attack.

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A marker that must never be printed, and the number a reader would take from the file.
const SECRET: &str = "SECRET-c41a";
const NUMBER: &str = "4343";

fn need(test: &str) -> bool {
    common::need_root_and_setpriv(test)
        && common::need_tool(test, "cc", &["--version"], "apt-get install gcc")
}

fn mode(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// Environment variables of a fake server.
type Env = Vec<(&'static str, String)>;

/// One server of the catalog as the attack plants it.
struct Case {
    /// The executable's name (what the catalog recognises).
    exe: &'static str,
    /// The setting whose value is planted.
    key: &'static str,
    /// A configuration holding `key` = NUMBER (and the secret, in a comment).
    body: fn() -> String,
    /// A configuration that includes `inc/secret.conf` of its directory (`{dir}`: that
    /// directory); empty where the server has no include.
    includes: &'static str,
    /// The command line naming FILE (after the executable) and the environment.
    args: fn(&str) -> (Vec<String>, Env),
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

const CASES: &[Case] = &[
    Case {
        exe: "mosquitto",
        key: "max_connections",
        body: || format!("max_connections {NUMBER}\n# {SECRET}\n"),
        includes: "include_dir {dir}/inc\n",
        args: |f| (words(&format!("-c {f}")), vec![]),
    },
    Case {
        exe: "lighttpd",
        key: "server.max-connections",
        body: || format!("server.max-connections = {NUMBER}\n# {SECRET}\n"),
        includes: "include \"inc/secret.conf\"\n",
        args: |f| (words(&format!("-D -f {f}")), vec![]),
    },
    Case {
        exe: "apache2",
        key: "MaxRequestWorkers",
        body: || format!("MaxRequestWorkers {NUMBER}\n# {SECRET}\n"),
        includes: "Include {dir}/inc/secret.conf\n",
        args: |f| (words(&format!("-k start -d . -f {f}")), vec![]),
    },
    Case {
        exe: "pgbouncer",
        key: "max_client_conn",
        body: || format!("[pgbouncer]\nmax_client_conn = {NUMBER}\n; {SECRET}\n"),
        includes: "%include {dir}/inc/secret.conf\n",
        args: |f| (words(&format!("-q {f}")), vec![]),
    },
    Case {
        exe: "beam.smp",
        key: "connection_max",
        body: || format!("connection_max = {NUMBER}\n# {SECRET}\n"),
        includes: "",
        args: |f| {
            (
                words("-W w -- -root /usr/lib/erlang -s rabbit boot"),
                vec![("RABBITMQ_CONFIG_FILE", f.to_string())],
            )
        },
    },
];

/// The fake servers (0755, in a 0755 directory): one sleeping program under each name.
fn fakes(d: &Path) -> PathBuf {
    let bin = d.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let src = bin.join("sleeper.c");
    std::fs::write(
        &src,
        "#include <unistd.h>\nint main(void){for(int i=0;i<600;i++)sleep(1);return 0;}\n",
    )
    .unwrap();
    let st = Command::new("cc")
        .arg("-o")
        .arg(bin.join("sleeper"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "cc sleeper.c");
    for c in CASES {
        std::fs::copy(bin.join("sleeper"), bin.join(c.exe)).unwrap();
        mode(&bin.join(c.exe), 0o755);
    }
    mode(&bin, 0o755);
    mode(d, 0o755);
    bin
}

/// A fake server of uid/gid 65534 (extra groups `groups`), started in `cwd`; killed by its
/// PID on drop.
struct Fake(Child);

impl Fake {
    fn start(bin: &Path, c: &Case, file: &str, cwd: &Path, groups: &str) -> Fake {
        let exe = bin.join(c.exe);
        let (args, env) = (c.args)(file);
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534"]);
        match groups {
            "" => cmd.arg("--clear-groups"),
            g => cmd.arg(format!("--groups={g}")),
        };
        let child = cmd
            .arg("--")
            .arg(&exe)
            .args(&args)
            .envs(env)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let me = Fake(child);
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if std::fs::read_link(format!("/proc/{}/exe", me.0.id())).is_ok_and(|p| p == exe) {
                return me;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{} did not start as nobody", exe.display());
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `check --pid` of the fake, saved: (the saved snapshot, all that was printed). Nothing of
/// the planted file may reach either.
fn check(d: &Path, f: &Fake) -> (serde_json::Value, String) {
    let pid = f.0.id().to_string();
    let snap = d.join(format!("snap-{pid}.json"));
    let out = Command::new(common::bin())
        .args(["check", "--pid", &pid, "--format", "json", "--save"])
        .arg(&snap)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.code().is_some_and(|c| c <= 4), "{text}");
    let saved = std::fs::read_to_string(&snap).unwrap();
    assert!(!text.contains(SECRET) && !saved.contains(SECRET), "{text}");
    (serde_json::from_str(&saved).unwrap(), text)
}

/// The value of `key` the catalog read, if any.
fn read_value(v: &serde_json::Value, key: &str) -> Option<String> {
    v["runtime"]["server"]["settings"]
        .as_array()?
        .iter()
        .find(|s| {
            s["key"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
        })
        .and_then(|s| s["value"].as_str().map(str::to_string))
}

/// `pub/` (0755): `secret.conf` (0600 root), `gread.conf` (0640 root:4242), `link.conf`
/// (nobody's link to secret.conf), `main.conf` (0644, includes `inc/secret.conf`, 0600
/// root); `priv/` (0700
/// root): `open.conf` (0644). Returns the names nobody cannot read, each with the directory
/// it is started in.
fn plant(d: &Path, c: &Case) -> Vec<(String, PathBuf)> {
    let (p, q) = (d.join("pub"), d.join("priv"));
    let _ = std::fs::remove_dir_all(&p);
    let _ = std::fs::remove_dir_all(&q);
    std::fs::create_dir_all(&p).unwrap();
    std::fs::create_dir_all(&q).unwrap();
    mode(&p, 0o755);
    mode(&q, 0o700);
    let body = (c.body)();
    for (dir, name, m) in [
        (&p, "secret.conf", 0o600),
        (&p, "gread.conf", 0o640),
        (&q, "open.conf", 0o644),
    ] {
        std::fs::write(dir.join(name), &body).unwrap();
        mode(&dir.join(name), m);
    }
    std::os::unix::fs::chown(p.join("gread.conf"), Some(0), Some(4242)).unwrap();
    std::os::unix::fs::symlink(p.join("secret.conf"), p.join("link.conf")).unwrap();
    std::os::unix::fs::lchown(p.join("link.conf"), Some(65534), Some(65534)).unwrap();
    let at = |dir: &Path, n: &str| dir.join(n).display().to_string();
    let mut v = vec![
        (at(&p, "secret.conf"), p.clone()),
        (at(&p, "link.conf"), p.clone()),
        (at(&q, "open.conf"), p.clone()),
        ("open.conf".to_string(), q.clone()),
    ];
    if !c.includes.is_empty() {
        // the main file is readable; what it includes is not
        let inc = p.join("inc");
        std::fs::create_dir_all(&inc).unwrap();
        mode(&inc, 0o755);
        std::fs::write(inc.join("secret.conf"), &body).unwrap();
        mode(&inc.join("secret.conf"), 0o600);
        let section = if body.starts_with('[') {
            "[pgbouncer]"
        } else {
            ""
        };
        let includes = c.includes.replace("{dir}", &p.display().to_string());
        std::fs::write(p.join("main.conf"), format!("{section}\n{includes}")).unwrap();
        mode(&p.join("main.conf"), 0o644);
        v.push((at(&p, "main.conf"), p.clone()));
    }
    v
}

#[test]
#[ignore = "needs root, setpriv and cc"]
fn catalog_configs_named_by_nobody_are_read_as_nobody() {
    if !need("catalog_configs_named_by_nobody_are_read_as_nobody") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = fakes(d.path());
    for c in CASES {
        for (file, cwd) in plant(d.path(), c) {
            let f = Fake::start(&bin, c, &file, &cwd, "");
            let (v, _) = check(d.path(), &f);
            let what = format!("{} {file}", c.exe);
            assert_eq!(read_value(&v, c.key), None, "{what}: {}", v["runtime"]);
            let notes = v["notes"].to_string();
            assert!(
                notes.contains("not readable by uid 65534"),
                "{what}: {notes}"
            );
        }
        // controls: through a group the process holds, then world-readable, the file is read
        let pubd = d.path().join("pub");
        let gread = pubd.join("gread.conf").display().to_string();
        let f = Fake::start(&bin, c, &gread, &pubd, "4242");
        let (v, _) = check(d.path(), &f);
        assert_eq!(
            read_value(&v, c.key).as_deref(),
            Some(NUMBER),
            "{}: {}",
            c.exe,
            v["runtime"]
        );
        mode(&pubd.join("secret.conf"), 0o644);
        let secret = pubd.join("secret.conf").display().to_string();
        let f = Fake::start(&bin, c, &secret, &pubd, "");
        let (v, _) = check(d.path(), &f);
        assert_eq!(
            read_value(&v, c.key).as_deref(),
            Some(NUMBER),
            "{}: {}",
            c.exe,
            v["runtime"]
        );
    }
}
