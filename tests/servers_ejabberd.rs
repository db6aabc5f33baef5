//! A real ejabberd (Debian's package) booted by the test in a private network namespace as
//! its own user, under a chosen fd limit: it has no connection cap of its own, so the Erlang
//! node under it binds (its fd table, sized from the soft RLIMIT_NOFILE at boot; its port
//! table, ERL_MAX_PORTS 32000 from Debian's ejabberdctl, is far above). `check --pid` of its
//! beam.smp is held against real XMPP streams (the server's stream header answered).

#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::servers::{self, Server};

const PORT: u16 = 5222;
const NOFILE: u64 = 300;

fn need(test: &str) -> bool {
    common::need_root_and_setpriv(test)
        && common::need_program(test, "epmd", "apt-get install erlang-base")
        && (Path::new(CTL).exists()
            || panic!("{test}: {CTL} is missing (apt-get install ejabberd); .ci/run installs it"))
}

/// The package's control script (what its unit runs).
const CTL: &str = "/usr/sbin/ejabberdctl";

/// Boot ejabberd as user ejabberd with `ejabberdctl foreground` (the package's script, its
/// own ejabberdctl.cfg replaced so that the test's configuration is read), everything it
/// writes in `dir`; returned once it listens.
fn boot(dir: &Path) -> Server {
    servers::write(
        dir,
        "ejabberd.yml",
        &format!(
            "hosts:\n  - localhost\nloglevel: info\nlisten:\n  -\n    port: {PORT}\n    ip: \"127.0.0.1\"\n    module: ejabberd_c2s\nmodules: {{}}\n"
        ),
    );
    servers::write(
        dir,
        "ejabberdctl.cfg",
        "ERL_OPTIONS=\"-env ERL_CRASH_DUMP_BYTES 0\"\n",
    );
    for d in ["spool", "logs"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let ejabberd = nix::unistd::User::from_name("ejabberd")
        .unwrap()
        .expect("the ejabberd user (apt-get install ejabberd)");
    for p in ["", "spool", "logs", "ejabberd.yml", "ejabberdctl.cfg"] {
        std::os::unix::fs::chown(
            dir.join(p),
            Some(ejabberd.uid.as_raw()),
            Some(ejabberd.gid.as_raw()),
        )
        .unwrap();
    }
    let at = |n: &str| dir.join(n).display().to_string();
    let child = Command::new("setpriv")
        .args([
            "--reuid=ejabberd",
            "--regid=ejabberd",
            "--init-groups",
            "--",
        ])
        .arg("prlimit")
        .arg(format!("--nofile={NOFILE}:{NOFILE}"))
        .arg(CTL)
        .args(["--ctl-config", &at("ejabberdctl.cfg")])
        .args(["--config", &at("ejabberd.yml")])
        .args(["--spool", &at("spool"), "--logs", &at("logs"), "foreground"])
        .env("HOME", dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ejabberdctl");
    let srv = Server {
        child,
        name: "ejabberd",
    };
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        if servers::listening(PORT) {
            break;
        }
        assert!(
            Instant::now() < until,
            "ejabberd did not listen in 90 s: {}",
            std::fs::read_to_string(dir.join("logs/ejabberd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    srv
}

/// An XMPP client stream: held once the server has answered with its own stream header.
fn xmpp_stream() -> Result<TcpStream, String> {
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], PORT)),
        Duration::from_secs(2),
    )
    .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_millis(1500))).ok();
    s.write_all(b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
        .map_err(|e| e.to_string())?;
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(n) if n > 0 && String::from_utf8_lossy(&b[..n]).contains("<?xml") => Ok(s),
        Ok(_) => Err("closed without a stream header".into()),
        Err(e) => Err(format!("no stream header: {e}")),
    }
}

#[test]
#[ignore = "needs root, unshare -n and ejabberd"]
fn ejabberd_is_bound_by_its_erlang_fd_table() {
    if !need("ejabberd_is_bound_by_its_erlang_fd_table") {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let _epmd = servers::epmd();
        let srv = boot(dir.path());
        let beam = servers::descendants(srv.pid())
            .into_iter()
            .find(|p| {
                std::fs::read_link(format!("/proc/{p}/exe"))
                    .is_ok_and(|e| e.to_string_lossy().ends_with("beam.smp"))
            })
            .expect("beam.smp under ejabberdctl");
        // the node goes on starting its helpers (eimp, memsup) after it listens: read it once
        // its fd table has settled
        servers::settled(&[beam], |p| {
            std::fs::read_dir(format!("/proc/{p}/fd")).map_or(0, |d| d.count() as u64)
        });
        let v = servers::check_pid(beam, &[]);
        assert_eq!(v["process"]["runtime"], "ejabberd", "{v}");
        // the node's fd table at boot is its soft limit: process_fds and erlang_max_fds tie
        let fds = servers::ceiling(&v, "erlang_max_fds");
        assert_eq!(v["prediction"]["ceiling"], fds["value"], "{v}");
        assert!(
            fds["why"].as_str().unwrap().contains("erl_child_setup"),
            "the boot-time table, read: {fds}"
        );
        let ports = servers::ceiling(&v, "erlang_port_limit");
        assert!(
            ports["why"].as_str().unwrap().contains("32000")
                || ports["why"].as_str().unwrap().contains("32768"),
            "{ports}"
        );
        let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
        let (held, errors) = servers::hold_logins(predicted + 30, 3, xmpp_stream);
        let held = held.len() as u64;
        eprintln!(
            "ejabberd: predicted {predicted} ({}, tied {}), held {held} XMPP streams; {errors:?}",
            v["prediction"]["bottleneck"], v["prediction"]["tied"]
        );
        assert!(
            held.abs_diff(predicted) <= (predicted / 200).max(1),
            "held {held}, predicted {predicted}: {errors:?}"
        );
    });
}
