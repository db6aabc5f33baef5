//! The profile file format, as parsed (before `extends` is resolved). See docs/profiles.md.
//!
//! Every struct denies unknown fields; `load` turns serde's "unknown field" into a
//! "did you mean" using the edit distance to the expected names.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::model::{Scenario, ScenarioKind};
use crate::snapshot::Rlim;

/// One profile file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDoc {
    /// Short name, used in persisted file names (`60-porttune-NAME.conf`).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Parents, applied first in order; this file's settings win over theirs.
    #[serde(default, deserialize_with = "one_or_many")]
    pub extends: Vec<Spanned<String>>,
    #[serde(default)]
    pub require: Option<Require>,
    #[serde(default)]
    pub sysctl: BTreeMap<String, Spanned<SysctlSetting>>,
    #[serde(default)]
    pub limits: Option<Limits>,
    #[serde(default)]
    pub runtime: Option<RuntimeSection>,
    /// Also write the settings to files read at boot (sysctl.d, limits.d, systemd drop-ins).
    #[serde(default)]
    pub persist: Option<bool>,
    /// The OS the profile is for: `linux` (the default) or `macos`.
    #[serde(default)]
    pub os: Option<ProfileOs>,
}

/// `os:` in a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileOs {
    Linux,
    Macos,
}

impl From<ProfileOs> for crate::snapshot::Os {
    fn from(o: ProfileOs) -> Self {
        match o {
            ProfileOs::Linux => crate::snapshot::Os::Linux,
            ProfileOs::Macos => crate::snapshot::Os::Macos,
        }
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Spanned<String>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<Spanned<String>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a profile name or path, or a list of them")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = seq.next_element::<Spanned<String>>()? {
                out.push(v);
            }
            Ok(out)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Err(E::custom(format!(
                "`extends` must be a list, e.g. `extends: [{v}]`"
            )))
        }
    }
    d.deserialize_seq(V)
}

/// What the profile is for: used by `check --with` and `apply --verify`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Require {
    /// Concurrent connections the host must hold.
    pub connections: u64,
    #[serde(default)]
    pub scenario: ScenarioSpec,
}

/// The scenario, with every field optional (defaults as in `model::Scenario`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    #[serde(default)]
    pub kind: Option<ScenarioKind>,
    #[serde(default)]
    pub destinations: Option<u64>,
    #[serde(default)]
    pub source_ips: Option<u64>,
    #[serde(default)]
    pub bind_before_connect: Option<bool>,
    #[serde(default)]
    pub listen_ports: Option<u64>,
    #[serde(default)]
    pub processes: Option<u64>,
    #[serde(default)]
    pub threads_per_conn: Option<u64>,
    #[serde(default)]
    pub churn: Option<bool>,
    #[serde(default)]
    pub keep_alive: Option<bool>,
}

impl ScenarioSpec {
    pub fn to_scenario(&self) -> Scenario {
        let mut s = Scenario::new(self.kind.unwrap_or_default());
        if let Some(v) = self.destinations {
            s.destinations = v;
        }
        if let Some(v) = self.source_ips {
            s.source_ips = v;
        }
        if let Some(v) = self.bind_before_connect {
            s.bind_before_connect = v;
        }
        if let Some(v) = self.listen_ports {
            s.listen_ports = v;
        }
        if let Some(v) = self.processes {
            s.processes = v;
        }
        if let Some(v) = self.threads_per_conn {
            s.threads_per_conn = v;
        }
        if let Some(v) = self.churn {
            s.churn = v;
        }
        if let Some(v) = self.keep_alive {
            s.keep_alive = v;
        }
        s
    }
}

/// How a sysctl is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SysctlOp {
    /// Exactly this value (whitespace-separated fields normalised to one space).
    Set(String),
    /// At least this value: never lowers a value already higher (tuned's `>`).
    Min(i128),
    /// At most this value: never raises a value already lower (tuned's `<`).
    Max(i128),
}

impl fmt::Display for SysctlOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SysctlOp::Set(v) => f.write_str(v),
            SysctlOp::Min(v) => write!(f, "min {v}"),
            SysctlOp::Max(v) => write!(f, "max {v}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlSetting {
    pub op: SysctlOp,
    /// A key absent on this kernel is skipped instead of being an error.
    pub optional: bool,
}

pub const SYSCTL_SETTING_FIELDS: &[&str] = &["value", "min", "max", "optional"];

impl<'de> Deserialize<'de> for SysctlSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn set(v: String) -> SysctlSetting {
            SysctlSetting {
                op: SysctlOp::Set(v),
                optional: false,
            }
        }
        impl<'de> Visitor<'de> for V {
            type Value = SysctlSetting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value (`4096`, `\"1024 65535\"`), or `{min: N}`, `{max: N}`, `{value: V, optional: true}`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SysctlSetting, E> {
                Ok(set(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SysctlSetting, E> {
                Ok(set(v.to_string()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<SysctlSetting, E> {
                Ok(set(v.to_string()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<SysctlSetting, E> {
                Ok(set(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SysctlSetting, E> {
                Err(E::custom(float_message(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SysctlSetting, E> {
                Err(E::custom(format!(
                    "sysctl values are numbers, not booleans: write {} instead of {v}",
                    if v { 1 } else { 0 }
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SysctlSetting, E> {
                Ok(set(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<SysctlSetting, E> {
                Err(E::custom("sysctl value is missing (empty or null)"))
            }
            fn visit_none<E: de::Error>(self) -> Result<SysctlSetting, E> {
                self.visit_unit()
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SysctlSetting, A::Error> {
                let mut parts = Vec::new();
                while let Some(p) = seq.next_element::<i64>()? {
                    parts.push(p.to_string());
                }
                if parts.is_empty() {
                    return Err(de::Error::custom("an empty list is not a sysctl value"));
                }
                Ok(set(parts.join(" ")))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SysctlSetting, A::Error> {
                let mut op: Option<SysctlOp> = None;
                let mut optional = false;
                while let Some(k) = map.next_key::<String>()? {
                    let new_op = match k.as_str() {
                        "min" => SysctlOp::Min(map.next_value::<i128>()?),
                        "max" => SysctlOp::Max(map.next_value::<i128>()?),
                        "value" => map.next_value::<SysctlSetting>()?.op,
                        "optional" => {
                            optional = map.next_value::<bool>()?;
                            continue;
                        }
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown key `{other}` in a sysctl setting, expected one of `value`, `min`, `max`, `optional`{}",
                                super::suggest::did_you_mean(other, SYSCTL_SETTING_FIELDS)
                            )));
                        }
                    };
                    if op.is_some() {
                        return Err(de::Error::custom(
                            "a sysctl setting takes only one of `value`, `min`, `max`",
                        ));
                    }
                    op = Some(new_op);
                }
                match op {
                    Some(op) => Ok(SysctlSetting { op, optional }),
                    None => Err(de::Error::custom(
                        "a sysctl setting needs one of `value`, `min` or `max`",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A soft/hard pair; a single number sets both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LimitPair {
    pub soft: Rlim,
    pub hard: Rlim,
}

impl From<LimitPair> for crate::snapshot::Limit {
    fn from(p: LimitPair) -> Self {
        crate::snapshot::Limit {
            soft: p.soft,
            hard: p.hard,
        }
    }
}

impl<'de> Deserialize<'de> for LimitPair {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LimitPair;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, \"unlimited\", or `{soft: N, hard: N}`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LimitPair, E> {
                let r = Rlim::from_raw(v);
                Ok(LimitPair { soft: r, hard: r })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LimitPair, E> {
                if v < 0 {
                    return Err(E::custom(format!("a limit must not be negative, got {v}")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LimitPair, E> {
                if v.is_finite() && v.fract() == 0.0 && v.abs() >= 9.2e18 {
                    return Err(E::custom(
                        "the limit is larger than any rlimit (at most 18446744073709551615, or \"unlimited\")",
                    ));
                }
                Err(E::custom(format!("a limit is a whole number, got {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LimitPair, E> {
                let r = match v {
                    "unlimited" | "infinity" => Rlim::Unlimited,
                    _ => Rlim::Value(v.parse().map_err(|_| {
                        E::custom(format!("expected a number or \"unlimited\", got {v:?}"))
                    })?),
                };
                Ok(LimitPair { soft: r, hard: r })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LimitPair, A::Error> {
                let mut soft = None;
                let mut hard = None;
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "soft" => soft = Some(map.next_value::<Rlim>()?),
                        "hard" => hard = Some(map.next_value::<Rlim>()?),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown key `{other}` in a limit, expected `soft` or `hard`{}",
                                super::suggest::did_you_mean(other, &["soft", "hard"])
                            )));
                        }
                    }
                }
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Ok(LimitPair { soft, hard }),
                    (Some(s), None) => Ok(LimitPair { soft: s, hard: s }),
                    (None, Some(h)) => Ok(LimitPair { soft: h, hard: h }),
                    (None, None) => Err(de::Error::custom("a limit needs `soft` and/or `hard`")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// RLIMIT_NOFILE.
    #[serde(default)]
    pub nofile: Option<LimitPair>,
    /// RLIMIT_NPROC.
    #[serde(default)]
    pub nproc: Option<LimitPair>,
    /// Where the limits go: `pam`, `systemd-default`, `systemd:UNIT`, `pid:N`.
    #[serde(default)]
    pub targets: Vec<Spanned<String>>,
    /// limits.d domain (`*`, a user, `@group`); default `*`.
    #[serde(default)]
    pub pam_domain: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSection {
    #[serde(default)]
    pub erlang: Option<ErlangSection>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErlangSection {
    /// `+Q`: port table size (1024..=134217727, rounded up to a power of two by the VM).
    #[serde(default)]
    pub max_ports: Option<u64>,
    /// `+P`: process table size (1024..=134217727).
    #[serde(default)]
    pub max_processes: Option<u64>,
    /// A vm.args file to edit (+Q/+P lines replaced or added, every other line kept).
    #[serde(default)]
    pub vm_args: Option<String>,
    /// A systemd unit whose drop-in gets `Environment=ERL_FLAGS=...`.
    #[serde(default)]
    pub unit: Option<String>,
}

/// The top-level keys, for "did you mean".
pub const TOP_LEVEL_FIELDS: &[&str] = &[
    "name",
    "description",
    "extends",
    "require",
    "sysctl",
    "limits",
    "runtime",
    "persist",
];

/// The message for a YAML number read as a float: a whole number too large for 64 bits is
/// said to be so (not shown as the fraction YAML made of it).
pub fn float_message(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() >= 9.2e18 {
        return "the number is larger than any kernel integer (at most 18446744073709551615; sysctls mostly take much less)".into();
    }
    format!("sysctl values are integers or strings, not fractions: got {v}")
}
