//! A flood report from a Mac speaks macOS: rendered as text, Markdown and JSON on any machine
//! from a macOS run's report (tests/fixtures/flood/macos-loopback.json: the shape and the
//! warnings the macOS code paths write, counters a Mac does not give left out), with every stop
//! the classifier can name on a Mac put in it. The macOS workflow (.github/workflows/macos.yml)
//! runs the same word check on a report recorded on a real Mac.

mod common;

use porttune::flood::classify::{self, Call, Context, errno};
use porttune::flood::report::FloodReport;
use porttune::snapshot::Os;

fn report() -> FloodReport {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/flood/macos-loopback.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn assert_mac_words(what: &str, text: &str) {
    common::linux_words::assert_none(what, text);
}

/// Every stop a Mac can report, classified as the flood does there.
fn mac_stops() -> Vec<(i32, Call, Context)> {
    use errno::*;
    let mac = Context {
        os: Os::Macos,
        msl_ms: Some(15_000),
        ..Context::default()
    };
    let mut v = Vec::new();
    for e in [
        EADDRNOTAVAIL,
        EADDRINUSE,
        EMFILE,
        ENFILE,
        ENOBUFS,
        ENOMEM,
        ETIMEDOUT,
        ECONNREFUSED,
        ECONNRESET,
        EAGAIN,
        nix::errno::Errno::EPIPE as i32,
    ] {
        for call in [Call::Socket, Call::Bind, Call::Connect, Call::Accept] {
            for (churn, own_timeout, fd_cap_binds) in [(false, false, false), (true, true, true)] {
                v.push((
                    e,
                    call,
                    Context {
                        churn,
                        own_timeout,
                        fd_cap_binds,
                        time_wait: 100,
                        listen_overflows_rose: true,
                        ..mac
                    },
                ));
            }
        }
    }
    v
}

#[test]
fn a_macos_flood_report_speaks_macos_in_every_format() {
    let base = report();
    assert_eq!(base.config.os, Os::Macos);
    let mut seen = 0;
    for (e, call, ctx) in mac_stops() {
        let c = classify::classify(e, call, &ctx);
        let mut r = base.clone();
        r.stop.errno = Some(errno::name(e));
        r.stop.call = Some(call);
        r.stop.ceiling = c.ceiling.clone();
        r.stop.explanation = c.explanation.clone();
        let what = format!("{} {:?} {ctx:?}", errno::name(e), call);
        assert_mac_words(&what, &porttune::render::flood::text(&r));
        assert_mac_words(&what, &porttune::render::flood::markdown(&r));
        assert_mac_words(&what, &porttune::render::flood::json(&r).to_string());
        seen += 1;
    }
    assert!(seen > 80, "{seen}");
    // The same report from Linux does say Linux things: the check can fail.
    let mut linux = base.clone();
    linux.config.os = Os::Linux;
    let c = classify::classify(errno::EADDRINUSE, Call::Bind, &Context::default());
    linux.stop.explanation = c.explanation;
    assert!(porttune::render::flood::text(&linux).contains("IP_BIND_ADDRESS_NO_PORT"));
    assert!(porttune::render::flood::markdown(&linux).contains("ip_local_port_range"));
}

/// The stops a Mac names, with the Mac's numbers: TIME_WAIT is 2 × net.inet.tcp.msl (30 s by
/// default, 10 s with msl 5000), one pool per local address, kern.maxfilesperproc when it is
/// the lower fd limit, kern.maxfiles for the host.
#[test]
fn macos_stops_name_the_macos_limit() {
    use errno::*;
    let mac = Context {
        os: Os::Macos,
        ..Context::default()
    };
    let tw = classify::classify(
        EADDRNOTAVAIL,
        Call::Connect,
        &Context { churn: true, ..mac },
    );
    assert_eq!(tw.ceiling.as_deref(), Some("time_wait_rate"));
    assert!(
        tw.explanation.contains("30 s each, 2 × net.inet.tcp.msl"),
        "{}",
        tw.explanation
    );
    let short = classify::classify(
        EADDRNOTAVAIL,
        Call::Connect,
        &Context {
            churn: true,
            msl_ms: Some(5_000),
            ..mac
        },
    );
    assert!(
        short.explanation.contains("10 s each"),
        "{}",
        short.explanation
    );
    let ports = classify::classify(EADDRNOTAVAIL, Call::Connect, &mac);
    assert_eq!(ports.ceiling.as_deref(), Some("ephemeral_ports"));
    assert!(ports.explanation.contains("one pool per local address"));
    let fds = classify::classify(EMFILE, Call::Accept, &mac);
    assert_eq!(fds.ceiling.as_deref(), Some("process_fds"));
    let cap = classify::classify(
        EMFILE,
        Call::Accept,
        &Context {
            fd_cap_binds: true,
            ..mac
        },
    );
    assert_eq!(cap.ceiling.as_deref(), Some("max_files_per_proc"));
    assert!(
        cap.explanation
            .contains("accept() hit kern.maxfilesperproc")
    );
    let files = classify::classify(ENFILE, Call::Socket, &mac);
    assert_eq!(files.ceiling.as_deref(), Some("system_files"));
    assert!(files.explanation.contains("kern.maxfiles"));
    // Linux keeps its own words and numbers.
    let linux = classify::classify(
        EADDRNOTAVAIL,
        Call::Connect,
        &Context {
            churn: true,
            time_wait: 5,
            ..Context::default()
        },
    );
    assert!(
        linux.explanation.contains("60 s each"),
        "{}",
        linux.explanation
    );
}
