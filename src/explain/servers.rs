//! `porttune explain --servers`: the server products porttune knows and their caps, made from
//! the catalog (`snapshot::runtime::catalog::ALL`) and nothing else, so that a new entry is
//! listed without touching this file. Pure: `render::servers` formats it.

use serde::Serialize;

use crate::snapshot::runtime::catalog::{self, Entry, Role, Shape};

/// The document `explain --servers --format json` prints.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Listing {
    /// The document's version (docs/json.md).
    pub schema: u32,
    /// The server products whose own caps porttune reads, in the catalog's order.
    pub servers: Vec<Server>,
    /// The runtimes (and native code): what runs on them is application code, whose in-code
    /// caps no configuration shows (state one with `--app-limit N:NAME`).
    pub runtimes: Vec<Runtime>,
}

/// One server product.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Server {
    /// Its name in text.
    pub product: String,
    /// Its `--runtime` value (and JSON `runtime`).
    pub runtime: String,
    /// Debian's package ("" when none).
    pub package: String,
    /// What recognises a process as this product.
    pub recognised_by: Vec<String>,
    /// Where its configuration is read from, in the order looked at.
    pub configuration: Vec<String>,
    /// The settings porttune reads.
    pub caps: Vec<CapRow>,
    /// The VM it runs on, whose caps apply too (RabbitMQ and ejabberd: Erlang/OTP).
    pub runs_on: Option<String>,
    /// The ceilings (JSON `ceilings[].name`) this product adds.
    pub ceilings: Vec<String>,
    /// Those of them no listed setting feeds (RabbitMQ's file-handle cache: its fd limit).
    pub other_ceilings: Vec<String>,
    /// How to lift its own cap, in general terms (`check` says it with the numbers).
    pub lift: Option<String>,
    /// The protocols it listens for, when its caps count per protocol listener (RabbitMQ):
    /// `check --port PORT` picks one.
    pub listeners: Vec<ListenerRow>,
}

/// One protocol a server listens for.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ListenerRow {
    pub protocol: String,
    /// The setting that declares its listeners.
    pub setting: String,
    /// Its port when none is declared.
    pub default_port: Option<u16>,
    /// The plugins that bring it (none: always there).
    pub plugins: Vec<String>,
    /// The setting that caps each of its listeners (none: no cap of the server's own).
    pub cap: Option<String>,
}

/// One setting of a server.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CapRow {
    /// As written in the configuration.
    pub setting: String,
    /// Command-line flags that set it.
    pub flags: Vec<String>,
    /// Its default, in the server's own words.
    pub default: String,
    /// The ceilings it feeds.
    pub feeds: Vec<String>,
    /// It counts per listener (`check --port PORT` picks one).
    pub per_listener: bool,
}

/// One runtime.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Runtime {
    pub product: String,
    pub runtime: String,
    /// What porttune reads for it.
    pub about: String,
}

/// The listing of the catalog.
pub fn listing() -> Listing {
    listing_of(catalog::ALL)
}

/// The listing of `entries` (the catalog's, or a test's).
pub fn listing_of(entries: &[&Entry]) -> Listing {
    Listing {
        schema: 1,
        servers: entries
            .iter()
            .filter(|e| e.role == Role::Server)
            .map(|e| server(e))
            .collect(),
        runtimes: entries
            .iter()
            .filter(|e| e.role == Role::Runtime)
            .map(|e| Runtime {
                product: e.product.into(),
                runtime: e.name.into(),
                about: e.about.into(),
            })
            .collect(),
    }
}

fn server(e: &Entry) -> Server {
    let mut seen: Vec<String> = e.exe.iter().map(|x| format!("executable {x}")).collect();
    seen.extend(e.exe_prefix.iter().map(|x| format!("name {x}…")));
    if let (Some(vm), Some(m)) = (e.vm, e.marker) {
        let vm = catalog::of(vm);
        seen.push(format!(
            "`{m}` on the command line of {} ({})",
            vm.product,
            vm.exe.join(", ")
        ));
    }
    let c = &e.config;
    let mut conf: Vec<String> = Vec::new();
    if !c.flags.is_empty() {
        conf.push(c.flags.join(", "));
    }
    if c.positional {
        conf.push("the last argument".into());
    }
    if let Some(v) = c.env {
        conf.push(format!("${v}"));
    }
    if let Some(p) = c.default_path {
        conf.push(p.into());
    }
    if !c.try_suffixes.is_empty() {
        conf.push(format!("else with {}", c.try_suffixes.join(", ")));
    }
    if let Some(x) = c.extra {
        conf.push(format!("then {} (${})", x.default, x.env));
    }
    if let Some(o) = c.overlay {
        conf.push(format!("then {}", o.default_path));
    }
    if c.shape == Shape::Flags && !e.settings.is_empty() {
        conf.push("its command line".into());
    }
    let fed = |key: &str| -> Vec<String> { feeds(e, key).iter().map(|c| c.to_string()).collect() };
    let caps = e
        .settings
        .iter()
        .map(|s| CapRow {
            setting: s.key.into(),
            flags: s.flags.iter().map(|f| f.to_string()).collect(),
            default: s.default.into(),
            feeds: fed(s.key),
            per_listener: e
                .cap
                .is_some_and(|c| c.per_listener.is_some() && c.key.eq_ignore_ascii_case(s.key)),
        })
        .collect();
    Server {
        product: e.product.into(),
        runtime: e.name.into(),
        package: e.package.into(),
        recognised_by: seen,
        configuration: conf,
        caps,
        runs_on: e.vm.map(|k| catalog::of(k).product.to_string()),
        ceilings: e.ceilings.iter().map(|c| c.to_string()).collect(),
        other_ceilings: e
            .ceilings
            .iter()
            .filter(|c| !e.settings.iter().any(|s| feeds(e, s.key).contains(*c)))
            .map(|c| c.to_string())
            .collect(),
        lift: lift(e),
        listeners: e
            .protocols
            .iter()
            .map(|p| ListenerRow {
                protocol: p.name.into(),
                setting: p.key.into(),
                default_port: p.default_port,
                plugins: p.plugins.iter().map(|x| x.to_string()).collect(),
                cap: p.cap.map(str::to_string),
            })
            .collect(),
    }
}

/// The ceilings a setting feeds: the entry's `cap`'s when it is that setting, the one named
/// after it (`connection_max` → `rabbitmq_connection_max`), the entry's only one; else those
/// its other settings feed (a setting that is a part of a formula, as RabbitMQ's acceptors).
fn feeds(e: &Entry, key: &str) -> Vec<&'static str> {
    let named = |key: &str| -> Option<&'static str> {
        let k = key.to_ascii_lowercase().replace(['.', '-'], "_");
        e.ceilings.iter().copied().find(|c| c.ends_with(&k))
    };
    if let Some(c) = e.cap.filter(|c| c.key.eq_ignore_ascii_case(key)) {
        return vec![c.ceiling];
    }
    if let Some(c) = named(key) {
        return vec![c];
    }
    if e.ceilings.len() == 1 {
        return e.ceilings.to_vec();
    }
    let by_others: Vec<&'static str> = e.settings.iter().filter_map(|s| named(s.key)).collect();
    if by_others.is_empty() {
        e.ceilings.to_vec()
    } else {
        by_others
    }
}

/// The lift of its own cap: the entry's formula-as-data template, else what its messages say
/// of its first ceiling.
fn lift(e: &Entry) -> Option<String> {
    if let Some(c) = e.cap {
        return Some(
            c.lift
                .replace("{want}", "N")
                .replace("{file}", "its configuration"),
        );
    }
    let own = e.ceilings.first()?;
    let lifts = || {
        e.messages
            .iter()
            .filter(|m| m.ceiling == *own && !m.lift.is_empty())
    };
    // the message whose lift names the first cap setting (MySQL's max_user_connections
    // message lifts that per-account cap, not max_connections), else the first one
    let key = e.settings.first().map(|s| s.key);
    lifts()
        .find(|m| key.is_some_and(|k| m.lift.contains(k)))
        .or_else(|| lifts().next())
        .map(|m| m.lift.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::runtime::catalog::CapSetting;

    #[test]
    fn every_server_of_the_catalog_is_listed_with_its_settings() {
        let l = listing();
        let servers: Vec<&&Entry> = catalog::ALL
            .iter()
            .filter(|e| e.role == Role::Server)
            .collect();
        assert_eq!(l.servers.len(), servers.len());
        for (row, e) in l.servers.iter().zip(servers) {
            assert_eq!(row.runtime, e.name);
            assert!(!row.recognised_by.is_empty(), "{}", e.product);
            assert!(!row.ceilings.is_empty(), "{}", e.product);
            for (c, s) in row.caps.iter().zip(e.settings) {
                assert_eq!((c.setting.as_str(), c.default.as_str()), (s.key, s.default));
                assert!(!c.feeds.is_empty(), "{}: {}", e.product, s.key);
            }
        }
        let m = l.servers.iter().find(|s| s.runtime == "mosquitto").unwrap();
        assert!(m.caps[0].per_listener);
        assert_eq!(m.caps[0].feeds, ["mosquitto_max_connections"]);
        assert!(m.lift.as_deref().unwrap().contains("max_connections N"));
        let r = l.servers.iter().find(|s| s.runtime == "rabbitmq").unwrap();
        assert_eq!(r.runs_on.as_deref(), Some("Erlang/OTP"));
        assert!(
            r.caps
                .iter()
                .all(|c| c.feeds == ["rabbitmq_connection_max"])
        );
        assert_eq!(r.other_ceilings, ["rabbitmq_socket_limit"]);
        assert!(l.runtimes.iter().any(|r| r.runtime == "jvm"));
        // the lift of its own first cap, not of another message on the same ceiling (MySQL's
        // per-account max_user_connections)
        let my = l.servers.iter().find(|s| s.runtime == "mysql").unwrap();
        let lift = my.lift.as_deref().unwrap();
        assert!(lift.contains("raise max_connections"), "{lift}");
        assert!(!lift.contains("MAX_USER_CONNECTIONS"), "{lift}");
    }

    #[test]
    fn a_new_entry_is_listed_without_editing_the_listing() {
        const NEW: Entry = Entry {
            name: "frobd",
            product: "Frobd",
            package: "frobd",
            exe: &["frobd"],
            settings: &[CapSetting {
                key: "max_frobs",
                flags: &["-m"],
                default: "64",
                raises: true,
            }],
            ceilings: &["frobd_max_frobs"],
            ..Entry::BASE
        };
        let mut all: Vec<&Entry> = catalog::ALL.to_vec();
        all.push(&NEW);
        let l = listing_of(&all);
        let f = l.servers.last().unwrap();
        assert_eq!((f.product.as_str(), f.runtime.as_str()), ("Frobd", "frobd"));
        assert_eq!(f.recognised_by, ["executable frobd"]);
        assert_eq!(f.caps[0].setting, "max_frobs");
        assert_eq!(f.caps[0].flags, ["-m"]);
        assert_eq!(f.caps[0].feeds, ["frobd_max_frobs"]);
        assert_eq!(l.servers.len(), listing().servers.len() + 1);
    }
}
