//! The language runtimes (and native code): what runs on them is application code, whose own
//! connection caps no configuration shows; porttune knows how each treats its fd limit.
//! Sources: Go `os` (syscall.rlimit, Go 1.19+), the JVM's -XX:+MaxFDLimit (HotSpot
//! os_linux.cpp / os_bsd.cpp), Node.js `node.cc` (RaiseFdLimit), CPython (no change),
//! erts `sys_drivers` (the fd table sized at boot); docs/runtimes.md.

use super::super::entry::{Entry, Role};
use crate::snapshot::RuntimeKind;

const RUNTIME: Entry = Entry {
    role: Role::Runtime,
    ..Entry::BASE
};

pub const NATIVE: Entry = Entry {
    kind: RuntimeKind::Native,
    name: "native",
    about: "A plain native program (C, Rust, Python...): soft NOFILE as it is.",
    product: "native code",
    ..RUNTIME
};

pub const ERLANG: Entry = Entry {
    kind: RuntimeKind::Erlang,
    name: "erlang",
    about: "Erlang/OTP (BEAM): soft NOFILE at boot, +Q ports, +P processes.",
    product: "Erlang/OTP",
    package: "erlang-nox",
    exe: &["beam.smp", "beam", "erl", "erlexec"],
    ceilings: &[
        "erlang_max_fds",
        "erlang_port_limit",
        "erlang_process_limit",
    ],
    ..RUNTIME
};

pub const JVM: Entry = Entry {
    kind: RuntimeKind::Jvm,
    name: "jvm",
    about: "The JVM: -XX:+MaxFDLimit raises the soft NOFILE to the hard limit.",
    product: "the JVM",
    package: "default-jre-headless",
    exe: &["java"],
    raises_soft_to_hard: true,
    ..RUNTIME
};

pub const GO: Entry = Entry {
    kind: RuntimeKind::Go,
    name: "go",
    about: "Go ≥ 1.19 raises the soft NOFILE to the hard limit.",
    product: "Go",
    package: "golang-go",
    raises_soft_to_hard: true,
    ..RUNTIME
};

pub const NODE: Entry = Entry {
    kind: RuntimeKind::Node,
    name: "node",
    about: "Node.js raises the soft NOFILE to the hard limit.",
    product: "Node.js",
    package: "nodejs",
    exe: &["node", "nodejs"],
    raises_soft_to_hard: true,
    ..RUNTIME
};

pub const PYTHON: Entry = Entry {
    kind: RuntimeKind::Python,
    name: "python",
    about: "Python: does not raise the soft limit.",
    product: "Python",
    package: "python3",
    exe_prefix: &["python"],
    ..RUNTIME
};
