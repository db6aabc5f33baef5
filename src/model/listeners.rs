//! Caps that count per listener (mosquitto's `max_connections`): the listeners a server's
//! configuration declares, in the order read, and each one's value of the setting. A setting
//! belongs to the listener declared before it; those written before any listener belong to the
//! default listener, which they create (mosquitto 2.0 src/conf.c). Pure.

use crate::snapshot::runtime::catalog::{ENABLED_PLUGINS, Entry, Listeners, Protocol};
use crate::snapshot::{ServerConf, Setting};

/// The source of a value the model puts in to evaluate an unknown input at one end of its
/// range (`inputs`): it stands for every listener's.
pub(super) const PLAUSIBLE: &str = "a plausible value";

/// One listener of the configuration.
pub(super) struct Listener<'a> {
    /// Its port (0: a Unix socket, which no TCP client reaches).
    pub port: u16,
    /// The address it is bound to, when the line names one.
    pub addr: Option<String>,
    /// Where it is declared.
    pub declared: String,
    /// Its value of the setting (the last one written for it).
    pub value: Option<&'a Setting>,
}

impl Listener<'_> {
    /// How text names it: "listener 1884 on 127.0.0.1 (file:line)".
    pub fn name(&self) -> String {
        let on = self
            .addr
            .as_deref()
            .map_or(String::new(), |a| format!(" on {}", crate::text::escape(a)));
        format!("listener {}{on} ({})", self.port, self.declared)
    }
}

/// The listeners `conf` declares, and each one's `key`. A `listener` line whose port is not a
/// number is left out (the server refuses to start with it).
pub(super) fn listeners<'a>(conf: &'a ServerConf, l: &Listeners, key: &str) -> Vec<Listener<'a>> {
    let mut out: Vec<Listener<'a>> = Vec::new();
    let (mut before_any, mut port): (Option<&Setting>, Option<&Setting>) = (None, None);
    for s in &conf.settings {
        if s.key.eq_ignore_ascii_case(l.directive) {
            let mut words = s.value.split_whitespace();
            let Some(p) = words.next().and_then(|p| p.parse::<u16>().ok()) else {
                continue;
            };
            out.push(Listener {
                port: p,
                addr: words
                    .next()
                    .filter(|a| !a.starts_with('#'))
                    .map(str::to_string),
                declared: s.source.clone(),
                value: None,
            });
        } else if s.key.eq_ignore_ascii_case(l.default_port_key) {
            port = Some(s);
        } else if s.key.eq_ignore_ascii_case(key) {
            match out.last_mut() {
                Some(last) => last.value = Some(s),
                None => before_any = Some(s),
            }
        }
    }
    // the default listener exists when its port is set, or when a cap written before any
    // listener is not "unlimited" (mosquitto: `max_connections != -1`, negatives being -1)
    let made_by_cap = before_any.is_some_and(|s| !s.value.trim_start().starts_with('-'));
    if port.is_some() || made_by_cap {
        out.push(Listener {
            port: port
                .and_then(|s| s.value.trim().parse().ok())
                .unwrap_or(l.default_port),
            addr: None,
            declared: match port {
                Some(s) => format!("`{} {}` at {}", l.default_port_key, s.value, s.source),
                None => format!(
                    "the default listener, made by {key} at {} before any `{}`",
                    before_any.map_or("", |s| s.source.as_str()),
                    l.directive
                ),
            },
            value: before_any,
        });
    }
    out
}

/// A listener of one of a server's protocols (RabbitMQ's AMQP, MQTT, …).
pub(super) struct ProtoListener {
    pub proto: &'static Protocol,
    pub port: u16,
    /// Where it is declared ("the default" when nothing declares it).
    pub declared: String,
}

impl ProtoListener {
    /// "the MQTT listener on 1883 (mqtt.listeners.tcp.default at file:line)".
    pub fn name(&self) -> String {
        format!(
            "the {} listener on {} ({})",
            self.proto.name, self.port, self.declared
        )
    }
}

/// The listeners `conf` declares for `e`'s protocols, those of plugins not enabled left out;
/// and whether the plugins are unknown (their protocols then cannot be told). Err: a listener
/// porttune does not read (a value that is no port, a list in advanced.config).
pub(super) fn protocol_listeners(
    conf: &ServerConf,
    e: &Entry,
) -> Result<(Vec<ProtoListener>, Option<String>), String> {
    let (enabled, plugins_unknown): (Vec<&str>, Option<String>) = match conf.get(ENABLED_PLUGINS) {
        Some(s) if s.value == "?" => (Vec::new(), Some(s.source.clone())),
        Some(s) => (s.value.split(',').filter(|n| !n.is_empty()).collect(), None),
        None => (Vec::new(), Some("the enabled plugins were not read".into())),
    };
    let mut out = Vec::new();
    for p in e.protocols {
        if !p.plugins.is_empty() && !p.plugins.iter().any(|x| enabled.contains(x)) {
            continue;
        }
        let mine: Vec<&Setting> = conf
            .settings
            .iter()
            .filter(|s| {
                let k = s.key.to_ascii_lowercase();
                k == p.key
                    || (!p.port_key && k.strip_prefix(p.key).is_some_and(|r| r.starts_with('.')))
            })
            .collect();
        let none = mine
            .iter()
            .rev()
            .find(|s| s.key.eq_ignore_ascii_case(p.key))
            .is_some_and(|s| s.value.trim().eq_ignore_ascii_case("none"));
        let named: Vec<&&Setting> = mine
            .iter()
            .filter(|s| p.port_key || !s.key.eq_ignore_ascii_case(p.key))
            .collect();
        if none && !p.port_key {
            continue;
        }
        if named.is_empty() {
            if let Some(port) = p.default_port {
                out.push(ProtoListener {
                    proto: p,
                    port,
                    declared: "the default".into(),
                });
            }
            continue;
        }
        // the last value of each key: `listeners.tcp.1` written twice is one listener
        for (i, s) in named.iter().enumerate() {
            if named[i + 1..]
                .iter()
                .any(|l| l.key.eq_ignore_ascii_case(&s.key))
            {
                continue;
            }
            let port = s
                .value
                .trim()
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| {
                    format!(
                        "{} at {} is not a port porttune reads",
                        crate::text::escape(&s.key),
                        s.source
                    )
                })?;
            out.push(ProtoListener {
                proto: p,
                port,
                declared: format!("{} at {}", crate::text::escape(&s.key), s.source),
            });
        }
    }
    Ok((out, plugins_unknown))
}

/// The listener on `port` among `e`'s protocols; Err says why it cannot be attributed.
pub(super) fn protocol_on(
    conf: &ServerConf,
    e: &Entry,
    port: u16,
) -> Result<ProtoListener, String> {
    let (all, plugins_unknown) = protocol_listeners(conf, e)?;
    let ports: Vec<String> = all
        .iter()
        .map(|l| format!("{} {}", l.proto.name, l.port))
        .collect();
    all.into_iter().find(|l| l.port == port).ok_or_else(|| {
        let plugins = plugins_unknown.map_or(String::new(), |why| {
            format!("; which plugins add listeners is not known: {why}")
        });
        format!(
            "port {port} is not a listener {} declares ({}{plugins}): which cap applies cannot be told",
            e.product,
            ports.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Listeners = Listeners {
        directive: "listener",
        default_port_key: "port",
        default_port: 1883,
        none_declared: "",
    };

    fn conf(lines: &[(&str, &str)]) -> ServerConf {
        ServerConf {
            settings: lines
                .iter()
                .enumerate()
                .map(|(i, (k, v))| Setting {
                    key: k.to_string(),
                    value: v.to_string(),
                    source: format!("m.conf:{}", i + 1),
                })
                .collect(),
            ..ServerConf::default()
        }
    }

    fn caps(c: &ServerConf) -> Vec<(u16, Option<String>, Option<String>)> {
        listeners(c, &L, "max_connections")
            .into_iter()
            .map(|l| (l.port, l.addr, l.value.map(|s| s.value.clone())))
            .collect()
    }

    #[test]
    fn a_cap_belongs_to_the_listener_before_it() {
        let c = conf(&[
            ("listener", "1883 127.0.0.1"),
            ("max_connections", "30"),
            ("listener", "1884"),
            ("max_connections", "10"),
            ("max_connections", "50"),
            ("listener", "0 /run/m.sock"),
        ]);
        assert_eq!(
            caps(&c),
            vec![
                (1883, Some("127.0.0.1".into()), Some("30".into())),
                (1884, None, Some("50".into())),
                (0, Some("/run/m.sock".into()), None),
            ]
        );
    }

    #[test]
    fn a_cap_before_any_listener_makes_the_default_listener() {
        // mosquitto 2.0: the default listener on `port` (else 1883), appended after the others
        let c = conf(&[
            ("max_connections", "20"),
            ("listener", "1884"),
            ("port", "1890"),
        ]);
        assert_eq!(
            caps(&c),
            vec![(1884, None, None), (1890, None, Some("20".into()))]
        );
        let c = conf(&[("max_connections", "20")]);
        assert_eq!(caps(&c), vec![(1883, None, Some("20".into()))]);
        // -1 (unlimited) before any listener makes none; nothing declared: none
        let c = conf(&[("max_connections", "-1"), ("listener", "1884")]);
        assert_eq!(caps(&c), vec![(1884, None, None)]);
        assert!(caps(&conf(&[])).is_empty());
        // a listener whose port is not a number is left out
        assert!(caps(&conf(&[("listener", "mqtt")])).is_empty());
    }
}
