//! Load a profile: bundled name or file, parse strictly, resolve `extends`, validate.

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::bundled;
use super::schema::{ProfileDoc, SysctlOp};
use super::suggest::did_you_mean;
use super::validate;
use super::{LimitTarget, Origin, Profile, SysctlEntry};
use crate::error::{Error, Result};
use crate::snapshot::Rlim;

/// Largest profile file read (a profile is a few KiB).
pub const MAX_BYTES: usize = 1 << 20;
/// Deepest `extends` chain.
pub const MAX_DEPTH: usize = 16;

/// Where a profile came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// Identity for cycle detection: `bundled:NAME` or the canonical path.
    pub id: String,
    /// Shown in messages: the path as given, or `bundled:NAME`.
    pub display: PathBuf,
    /// Directory relative `extends` paths are resolved against.
    pub dir: Option<PathBuf>,
    pub text: String,
}

fn input_err(path: &Path, line: usize, column: usize, msg: impl Into<String>) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        line: Some(line),
        column: Some(column),
        msg: msg.into(),
    }
}

/// Line and column (1-based) of byte `offset` in `bytes`.
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, col)
}

/// Whether `spec` names a file rather than a bundled profile: it has a `/` or ends in
/// `.yaml`/`.yml` (docs/profiles.md). A directory or file named like a bundled profile in
/// the current directory does not shadow it (`./NAME` names the file).
pub fn is_path(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".yaml") || spec.ends_with(".yml")
}

/// Most profile files one `extends` tree reads (each file once).
pub const MAX_FILES: usize = 64;
/// Most bytes one `extends` tree reads in all.
pub const MAX_TOTAL_BYTES: usize = 4 * MAX_BYTES;

/// The identity of a profile spec without reading it (`bundled:NAME` or the canonical
/// path), to load each file of an `extends` tree once.
fn spec_id(spec: &str, relative_to: Option<&Path>) -> String {
    if !is_path(spec) {
        return format!("bundled:{spec}");
    }
    let path = match relative_to {
        Some(dir) if Path::new(spec).is_relative() => dir.join(spec),
        _ => PathBuf::from(spec),
    };
    std::fs::canonicalize(&path)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Read a profile source: a bundled name or a file. Errors: `Usage` for an unknown bundled
/// name, `Input` for a file (with line and column when the bytes are not text).
pub fn read_source(spec: &str, relative_to: Option<&Path>) -> Result<Source> {
    if spec == "-" && relative_to.is_none() {
        // Standard input, bounded like a file; `extends` in it resolve from this directory.
        let bytes = crate::fsio::read_bounded(Path::new("-"), MAX_BYTES as u64, "profile")
            .map_err(|e| match e {
                Error::Input { msg, .. } if msg.contains("larger than") => Error::input(
                    "-",
                    format!("standard input: profiles are limited to {MAX_BYTES} bytes"),
                ),
                other => other,
            })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::input(
                "-",
                "not a text file: the profile on standard input is not UTF-8",
            )
        })?;
        return Ok(Source {
            id: "stdin".into(),
            display: PathBuf::from("-"),
            dir: std::env::current_dir().ok(),
            text,
        });
    }
    if !is_path(spec) {
        return match bundled::get(spec) {
            Some(text) => Ok(Source {
                id: format!("bundled:{spec}"),
                display: PathBuf::from(format!("bundled:{spec}")),
                dir: None,
                text: text.to_string(),
            }),
            None => Err(Error::Usage(format!(
                "no bundled profile `{}`{}; bundled: {} (or give a path to a .yaml file{})",
                validate::printable(spec),
                did_you_mean(spec, &bundled::names()),
                bundled::names().join(", "),
                if Path::new(spec).is_file() {
                    format!(": for the file here, write ./{}", validate::printable(spec))
                } else {
                    String::new()
                }
            ))),
        };
    }
    let path = match relative_to {
        Some(dir) if Path::new(spec).is_relative() => dir.join(spec),
        _ => PathBuf::from(spec),
    };
    let bytes =
        crate::fsio::read_bounded(&path, MAX_BYTES as u64, "profile").map_err(|e| match e {
            Error::Input { path, msg, .. } => Error::input(
                path,
                msg.replace(
                    &format!("profile is larger than {MAX_BYTES} bytes; refusing to read more"),
                    &format!("profiles are limited to {MAX_BYTES} bytes"),
                ),
            ),
            other => other,
        })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        let raw = e.as_bytes();
        let (l, c) = line_col(raw, off);
        input_err(
            &path,
            l,
            c,
            format!(
                "not a text file: byte 0x{:02x} at offset {off} is not UTF-8 (is this a binary file?)",
                raw[off]
            ),
        )
    })?;
    let canon = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    Ok(Source {
        id: canon.display().to_string(),
        display: path.clone(),
        dir: canon.parent().map(Path::to_path_buf),
        text,
    })
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::Error,
        with_snippet: false,
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 10_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 1_000,
        },
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_depth: 32,
            max_nodes: 50_000,
            max_aliases: 200,
        },
    }
}

/// A key or value word a profile used, quoted when it looks like one (letters, digits and
/// `_.-/@%:` at most 64, no `:` followed by more than a word): a line of some other file
/// (`root:$y$…:19000:0:99999:7:::`) is not repeated, only its position.
fn shown_name(s: &str) -> String {
    let word = s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/@% ".contains(c))
        && !s.trim().is_empty();
    if word {
        format!("`{}`", validate::printable(s))
    } else {
        "(not shown: not a key or value name)".into()
    }
}

/// The message of a parse error, without serde-saphyr's location suffix, with a
/// "did you mean" for unknown fields.
fn parse_message(e: &serde_saphyr::Error) -> String {
    let inner = e.without_snippet();
    if let serde_saphyr::Error::SerdeUnknownField {
        field, expected, ..
    } = inner
    {
        let list = expected
            .iter()
            .map(|x| format!("`{x}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return format!(
            "unknown key {}{}; expected one of {list}",
            shown_name(field),
            did_you_mean(field, expected)
        );
    }
    if let serde_saphyr::Error::SerdeUnknownVariant {
        variant, expected, ..
    } = inner
    {
        return format!(
            "unknown value {}{}; expected one of {}",
            shown_name(variant),
            did_you_mean(variant, expected),
            expected.join(", ")
        );
    }
    let mut msg = strip_locations(&inner.to_string());
    if let Some(i) = msg.find(", set DuplicateKeyPolicy") {
        msg.truncate(i);
    }
    let lower = msg.to_lowercase();
    if lower.contains("documents {") {
        return "a profile is a single YAML document: found a second one (a `---` line)".into();
    }
    if lower.starts_with("expected mapping start") {
        return "expected a mapping (`key: value` lines), found a list or a single value".into();
    }
    if lower.contains("duplicate") {
        let key = msg.rsplit(": ").next().unwrap_or("").to_string();
        msg = format!("duplicate key `{key}`: each key may appear only once in a mapping");
    } else if lower.contains("alias") || lower.contains("budget") || lower.contains("replay") {
        msg = format!(
            "anchors and aliases expand too far (an alias bomb?): {}; profiles are small and need no such nesting",
            msg.split(" (").next().unwrap_or(&msg)
        );
    } else if lower.starts_with("invalid u64")
        || lower.starts_with("invalid i64")
        || lower.starts_with("invalid u32")
    {
        msg = format!("{msg}: expected a whole number (e.g. 500000)");
    } else if lower.starts_with("expected sequence start") {
        msg = "expected a list, e.g. `[a, b]`".into();
    } else if lower.contains("while parsing")
        || lower.contains("while scanning")
        || lower.contains("did not find expected")
    {
        msg = format!("YAML syntax error: {msg}");
    }
    msg
}

/// Remove " at line N column M", " at line N, column M" and "(defined at ...)" parts.
fn strip_locations(msg: &str) -> String {
    let mut out = msg.to_string();
    while let Some(i) = out.find(" at line ") {
        let rest = &out[i + 9..];
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                !(c.is_ascii_digit() || matches!(c, ',' | ' ' | 'c' | 'o' | 'l' | 'u' | 'm' | 'n'))
            })
            .map(|(j, _)| j)
            .unwrap_or(rest.len());
        let cut = rest[..end].trim_end().len();
        out.replace_range(i..i + 9 + cut, "");
    }
    for marker in [" (defined", " (used"] {
        while let Some(i) = out.find(marker) {
            match out[i..].find(')') {
                Some(j) => out.replace_range(i..i + j + 1, ""),
                None => break,
            }
        }
    }
    out
}

/// Parse one document. Empty files are an error.
pub fn parse_doc(src: &Source) -> Result<ProfileDoc> {
    if src.text.trim().is_empty()
        || src
            .text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
    {
        return Err(input_err(
            &src.display,
            1,
            1,
            "empty profile: expected a mapping with at least `name` and `sysctl`, `limits` or `runtime`",
        ));
    }
    if let Some(off) = src.text.find('\0') {
        let (l, c) = line_col(src.text.as_bytes(), off);
        return Err(input_err(
            &src.display,
            l,
            c,
            "NUL byte in the profile: is this a binary file?",
        ));
    }
    let conv = |e: serde_saphyr::Error| {
        let (l, c) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((1, 1));
        let mut msg = parse_message(&e);
        // Name the key on that line when the message does not.
        if let Some(text) = src.text.lines().nth(l.saturating_sub(1))
            && let Some((k, _)) = text.split_once(':')
        {
            let k = k.trim().trim_start_matches("- ").trim_matches(['"', '\'']);
            if !k.is_empty() && !k.contains(['{', '[', ' ']) && !msg.contains(&format!("`{k}`")) {
                msg = format!("`{}`: {msg}", validate::printable(k));
            }
        }
        input_err(&src.display, l.max(1), c.max(1), msg)
    };
    // First pass: walk the whole document, aliases replayed, so alias bombs and syntax
    // errors are reported as such before any type checking.
    serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(&src.text, options())
        .map_err(conv)?;
    let doc: ProfileDoc =
        serde_saphyr::from_str_with_options(&src.text, options()).map_err(conv)?;
    Ok(doc)
}

/// 1-based (line, column) of `key` followed by `:` in the text, searching from `from_line`.
pub fn locate_key(text: &str, key: &str, from_line: usize) -> Option<(usize, usize)> {
    for (i, line) in text.lines().enumerate().skip(from_line.saturating_sub(1)) {
        for pat in [
            format!("{key}:"),
            format!("\"{key}\":"),
            format!("'{key}':"),
        ] {
            if let Some(col) = line.find(&pat) {
                return Some((i + 1, line[..col].chars().count() + 1));
            }
        }
    }
    None
}

/// Line/column of a Spanned key's value, moved to the key when it is on the same line.
fn key_origin(src: &Source, key: &str, sp: &Spanned<impl Sized>) -> Origin {
    let line = sp.referenced.line() as usize;
    let col = sp.referenced.column() as usize;
    let (line, column) = match src.text.lines().nth(line.saturating_sub(1)) {
        Some(l) if l.contains(key) => (line, l[..l.find(key).unwrap()].chars().count() + 1),
        _ => locate_key(&src.text, key, 1).unwrap_or((line.max(1), col.max(1))),
    };
    Origin {
        path: src.display.clone(),
        line,
        column,
    }
}

fn origin_err(o: &Origin, msg: impl Into<String>) -> Error {
    input_err(&o.path, o.line, o.column, msg)
}

/// The `description:` of a bundled profile (first line), for `profiles list`.
pub fn summary(name: &str) -> String {
    load(name)
        .ok()
        .and_then(|p| p.description)
        .map(|d| d.lines().next().unwrap_or("").trim().to_string())
        .unwrap_or_default()
}

/// Load and resolve a profile (bundled name or path), with every static check.
pub fn load(spec: &str) -> Result<Profile> {
    let src = read_source(spec, None)?;
    let mut stack = Vec::new();
    let mut profile = Profile::default();
    let mut tree = Tree {
        merged: Default::default(),
        files: 1,
        bytes: src.text.len(),
    };
    resolve(&src, &mut stack, &mut profile, &mut tree)?;
    let doc_name = profile.name.clone();
    if doc_name.is_empty() {
        // No `name` anywhere in the chain: the file stem.
        profile.name = Path::new(spec)
            .file_stem()
            .map(|s| s.to_string_lossy().to_lowercase().replace([' ', '.'], "-"))
            .unwrap_or_else(|| "profile".into());
        validate::check_name(&profile.name)
            .map_err(|m| input_err(&src.display, 1, 1, format!("{m}; add a `name:` key")))?;
    }
    profile.source = src.display.display().to_string();
    // A parent for one OS and a child for the other: every key must fit the final `os`.
    for e in profile.sysctl.values() {
        crate::settings::check_key_os(profile.os, &e.key).map_err(|m| origin_err(&e.origin, m))?;
    }
    for t in &profile.limits.targets {
        let fits = match t {
            LimitTarget::Launchd => profile.os == crate::snapshot::Os::Macos,
            _ => profile.os != crate::snapshot::Os::Macos,
        };
        if !fits {
            let (line, column) = locate_key(&src.text, "targets", 1).unwrap_or((1, 1));
            let msg = if profile.os == crate::snapshot::Os::Macos {
                format!(
                    "limits target `{t}` is for Linux; a macOS profile sets limits with `launchd` (`launchctl limit maxfiles` and a LaunchDaemon plist)"
                )
            } else {
                "limits target `launchd` is for macOS (add `os: macos`)".to_string()
            };
            return Err(input_err(&src.display, line, column, msg));
        }
    }
    let l = &profile.limits;
    if l.targets.contains(&LimitTarget::Launchd)
        && l.nofile.is_some_and(|p| {
            p.soft == crate::snapshot::Rlim::Unlimited || p.hard == crate::snapshot::Rlim::Unlimited
        })
    {
        let (line, column) = locate_key(&src.text, "nofile", 1).unwrap_or((1, 1));
        return Err(input_err(
            &src.display,
            line,
            column,
            "`limits.nofile` for the `launchd` target must be numbers: `launchctl limit maxfiles` refuses `unlimited`",
        ));
    }
    if let Err(m) = validate::check_pam_nofile(&l.targets, l.nofile) {
        let (line, column) = locate_key(&src.text, "nofile", 1).unwrap_or((1, 1));
        return Err(input_err(&src.display, line, column, m));
    }
    if (l.nofile.is_some() || l.nproc.is_some()) && l.targets.is_empty() {
        let (line, column) = locate_key(&src.text, "limits", 1).unwrap_or((1, 1));
        return Err(input_err(
            &src.display,
            line,
            column,
            "`limits` sets nofile/nproc but no `targets`: say where they go (`pam`, `systemd-default`, `systemd:UNIT`, `pid:N`; on macOS `launchd`)",
        ));
    }
    if profile.sysctl.is_empty()
        && l.nofile.is_none()
        && l.nproc.is_none()
        && profile.erlang.is_none()
    {
        return Err(input_err(
            &src.display,
            1,
            1,
            format!(
                "profile `{}` sets nothing: a profile needs `sysctl:`, `limits:` or `runtime: erlang:` (or `extends:` a profile that sets them)",
                profile.name
            ),
        ));
    }
    Ok(profile)
}

/// What one `extends` tree has read so far: each file is merged once (at its first place),
/// and the files and bytes read in all are capped (a fan-out of `extends` stays linear).
struct Tree {
    merged: std::collections::HashSet<String>,
    files: usize,
    bytes: usize,
}

fn resolve(
    src: &Source,
    stack: &mut Vec<String>,
    into: &mut Profile,
    tree: &mut Tree,
) -> Result<()> {
    let doc = parse_doc(src)?;
    stack.push(src.id.clone());
    for parent in &doc.extends {
        let o = key_origin(src, &parent.value, parent);
        let id = spec_id(&parent.value, src.dir.as_deref());
        if tree.merged.contains(&id) && !stack.contains(&id) {
            continue;
        }
        tree.files += 1;
        if tree.files > MAX_FILES {
            return Err(origin_err(
                &o,
                format!("`extends` reaches more than {MAX_FILES} profile files"),
            ));
        }
        // A parent that cannot be read is reported at the `extends` entry naming it,
        // unless the error has its own position inside the parent (binary content).
        let psrc = read_source(&parent.value, src.dir.as_deref()).map_err(|e| match e {
            Error::Input { line: Some(_), .. } => e,
            Error::Input { msg, path, .. } => origin_err(
                &o,
                format!(
                    "extends `{}` ({}): {msg}",
                    validate::printable(&parent.value),
                    path.display()
                ),
            ),
            Error::Usage(msg) => origin_err(
                &o,
                format!("extends `{}`: {msg}", validate::printable(&parent.value)),
            ),
            other => other,
        })?;
        // Only a profile is merged: a parent path names a .yaml/.yml file, so `extends` cannot
        // make porttune parse (and quote in its errors) some other file, e.g. /etc/shadow.
        if is_path(&parent.value)
            && !(parent.value.ends_with(".yaml") || parent.value.ends_with(".yml"))
        {
            return Err(origin_err(
                &o,
                format!(
                    "extends `{}`: not a profile file (a path in `extends` names a .yaml or .yml file); not read",
                    validate::printable(&parent.value)
                ),
            ));
        }
        if let Some(pos) = stack.iter().position(|s| *s == psrc.id) {
            let mut chain: Vec<String> = stack[pos..].to_vec();
            chain.push(psrc.id.clone());
            return Err(origin_err(
                &o,
                format!("cycle in `extends`: {}", chain.join(" → ")),
            ));
        }
        if stack.len() >= MAX_DEPTH {
            return Err(origin_err(
                &o,
                format!("`extends` nested deeper than {MAX_DEPTH} profiles"),
            ));
        }
        tree.bytes = tree.bytes.saturating_add(psrc.text.len());
        if tree.bytes > MAX_TOTAL_BYTES {
            return Err(origin_err(
                &o,
                format!("`extends` reads more than {MAX_TOTAL_BYTES} bytes of profiles in all"),
            ));
        }
        resolve(&psrc, stack, into, tree)?;
    }
    stack.pop();
    tree.merged.insert(src.id.clone());
    merge(src, doc, into)
}

/// Apply one document over what its parents set (this document wins).
fn top_of(src: &Source, key: &str) -> Origin {
    let (line, column) = locate_key(&src.text, key, 1).unwrap_or((1, 1));
    Origin {
        path: src.display.clone(),
        line,
        column,
    }
}

fn merge(src: &Source, doc: ProfileDoc, p: &mut Profile) -> Result<()> {
    let top = |key: &str| top_of(src, key);
    if let Some(name) = doc.name {
        validate::check_name(&name).map_err(|m| origin_err(&top("name"), m))?;
        p.name = name;
    }
    if let Some(d) = doc.description {
        p.description = Some(d);
    }
    if let Some(r) = doc.require {
        if r.connections == 0 || r.connections > crate::model::scenario::MAX_CONNECTIONS {
            return Err(origin_err(
                &top("connections"),
                format!(
                    "`require.connections` must be above 0 and at most {}",
                    crate::model::scenario::MAX_CONNECTIONS
                ),
            ));
        }
        let sc = &r.scenario;
        for (what, v, lo, hi) in [
            (
                "destinations",
                sc.destinations,
                1,
                crate::model::scenario::MAX_DESTINATIONS,
            ),
            (
                "source_ips",
                sc.source_ips,
                1,
                crate::model::scenario::MAX_SOURCE_IPS,
            ),
            ("listen_ports", sc.listen_ports, 1, 65535),
            (
                "processes",
                sc.processes,
                1,
                crate::model::scenario::MAX_PROCESSES,
            ),
            (
                "threads_per_conn",
                sc.threads_per_conn,
                0,
                crate::model::scenario::MAX_PER_CONN,
            ),
        ] {
            if let Some(v) = v
                && !(lo..=hi).contains(&v)
            {
                return Err(origin_err(
                    &top(what),
                    format!("`require.scenario.{what}` must be {lo}..={hi}, got {v}"),
                ));
            }
        }
        p.require = Some(r);
    }
    if let Some(persist) = doc.persist {
        p.persist = persist;
    }
    if let Some(os) = doc.os {
        p.os = os.into();
    }
    merge_sysctl(src, doc.sysctl, p)?;
    if let Some(l) = doc.limits {
        merge_limits(src, l, p)?;
    }
    if let Some(rt) = doc.runtime {
        merge_runtime(src, rt, p)?;
    }
    p.chain.push(src.display.display().to_string());
    Ok(())
}

/// The `sysctl:` section: each key checked (name, OS, value) and merged over the parents'.
fn merge_sysctl(
    src: &Source,
    sysctl: std::collections::BTreeMap<String, Spanned<super::schema::SysctlSetting>>,
    p: &mut Profile,
) -> Result<()> {
    for (key, sp) in sysctl {
        let origin = key_origin(src, &key, &sp);
        validate::check_key(&key).map_err(|m| origin_err(&origin, m))?;
        crate::settings::check_key_os(p.os, &key).map_err(|m| origin_err(&origin, m))?;
        let setting = sp.value;
        let op = match setting.op {
            SysctlOp::Set(v) => {
                // The unprivileged port start is checked again against the live kernel.
                let start = if key == "net.ipv4.ip_local_port_range" {
                    Some(0)
                } else {
                    None
                };
                SysctlOp::Set(
                    validate::check_value_os(p.os, &key, &v, start)
                        .map_err(|m| origin_err(&origin, m))?,
                )
            }
            SysctlOp::Min(n) | SysctlOp::Max(n) => {
                validate::check_bound_os(p.os, &key, n).map_err(|m| origin_err(&origin, m))?;
                setting.op
            }
        };
        p.sysctl.insert(
            key.clone(),
            SysctlEntry {
                key,
                op,
                optional: setting.optional,
                origin,
            },
        );
    }
    Ok(())
}

/// The `limits:` section.
fn merge_limits(src: &Source, l: super::schema::Limits, p: &mut Profile) -> Result<()> {
    let top = |key: &str| top_of(src, key);
    if l.nofile.is_some() {
        p.limits.nofile = l.nofile;
    }
    if l.nproc.is_some() {
        p.limits.nproc = l.nproc;
    }
    for (what, pair) in [("nofile", &l.nofile), ("nproc", &l.nproc)] {
        if let Some(pair) = pair
            && (pair.soft == Rlim::Value(0) || pair.hard == Rlim::Value(0))
        {
            return Err(origin_err(
                &top(what),
                format!(
                    "`limits.{what}`: 0 would leave the target unable to {}; give a positive limit",
                    if what == "nofile" {
                        "open any file (even its own stdin)"
                    } else {
                        "start any process"
                    }
                ),
            ));
        }
        if let Some(pair) = pair
            && pair.soft > pair.hard
        {
            return Err(origin_err(
                &top(what),
                format!(
                    "`limits.{what}`: soft {} is above hard {}; the kernel refuses it (EINVAL)",
                    pair.soft, pair.hard
                ),
            ));
        }
    }
    if let Some(Rlim::Value(v)) = l.nofile.map(|p| {
        if matches!(p.hard, Rlim::Unlimited) {
            p.soft
        } else {
            p.hard
        }
    }) && v > 2_147_483_584
    {
        return Err(origin_err(
            &top("nofile"),
            format!("`limits.nofile` hard {v} is above the largest fs.nr_open (2147483584)"),
        ));
    }
    if !l.targets.is_empty() {
        let mut targets = Vec::new();
        for t in &l.targets {
            let o = key_origin(src, &t.value, t);
            targets.push(validate::parse_target(&t.value).map_err(|m| origin_err(&o, m))?);
        }
        p.limits.targets = targets;
    }
    if let Some(d) = l.pam_domain {
        validate::check_pam_domain(&d).map_err(|m| origin_err(&top("pam_domain"), m))?;
        p.limits.pam_domain = Some(d);
    }
    Ok(())
}

/// The `runtime:` section (Erlang +Q/+P, vm.args, unit).
fn merge_runtime(src: &Source, rt: super::schema::RuntimeSection, p: &mut Profile) -> Result<()> {
    let top = |key: &str| top_of(src, key);
    if let Some(e) = rt.erlang {
        let cur = p.erlang.get_or_insert_with(Default::default);
        if let Some(n) = e.max_ports {
            validate::check_erlang("max_ports", n).map_err(|m| origin_err(&top("max_ports"), m))?;
            cur.max_ports = Some(n);
        }
        if let Some(n) = e.max_processes {
            validate::check_erlang("max_processes", n)
                .map_err(|m| origin_err(&top("max_processes"), m))?;
            cur.max_processes = Some(n);
        }
        if let Some(v) = e.vm_args {
            validate::check_vm_args_path(&v).map_err(|m| origin_err(&top("vm_args"), m))?;
            cur.vm_args = Some(v);
        }
        if let Some(u) = e.unit {
            validate::check_unit(&u).map_err(|m| origin_err(&top("unit"), m))?;
            cur.unit = Some(u);
        }
    }
    Ok(())
}

/// Parse and check one file without resolving anything against the live host.
pub fn validate_file(path: &str) -> Result<Profile> {
    load(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::schema;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("sysctls", schema::TOP_LEVEL_FIELDS),
            " (did you mean `sysctl`?)"
        );
        assert_eq!(
            did_you_mean("extend", schema::TOP_LEVEL_FIELDS),
            " (did you mean `extends`?)"
        );
        assert_eq!(did_you_mean("zzzzzzzz", schema::TOP_LEVEL_FIELDS), "");
    }

    #[test]
    fn the_scenario_says_keep_alive_sessions() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ka.yaml");
        std::fs::write(
            &p,
            "name: ka\nrequire:\n  connections: 50\n  scenario:\n    keep_alive: true\nlimits:\n  nofile: 4096\n  targets: [pam]\n",
        )
        .unwrap();
        let prof = load(p.to_str().unwrap()).unwrap();
        assert!(prof.scenario().keep_alive);
        assert!(!load("production").unwrap().scenario().keep_alive);
    }

    #[test]
    fn every_bundled_profile_loads() {
        for name in bundled::names() {
            let p = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.name, name);
        }
    }
}
