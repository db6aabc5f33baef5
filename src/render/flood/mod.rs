//! Text, JSON and Markdown renderings of a [`FloodReport`], one file each. Formatting only:
//! every number and every judgement (the verdict, what a churn verdict rests on) comes from
//! the report. The lines the three share are here.

mod json;
mod markdown;
mod text;

pub use json::json;
pub use markdown::markdown;
pub use text::text;

use crate::flood::report::*;
use crate::render::thousands;

fn stop_line(r: &FloodReport) -> String {
    let s = &r.stop;
    match (&s.errno, s.call) {
        (Some(e), Some(c)) => format!(
            "{e} at {}() after {:.3} s → {}",
            c.name(),
            s.at_s,
            s.ceiling.as_deref().unwrap_or("not a capacity limit")
        ),
        _ => format!("{} ({})", s.reason.name(), s.explanation),
    }
}

fn lift_for<'a>(r: &'a FloodReport, name: &str) -> Option<&'a PredictedCeiling> {
    r.prediction
        .as_ref()?
        .ceilings
        .iter()
        .find(|c| c.name == name)
}

/// The model's sustainable churn rate and its reason, as one phrase.
fn model_rate_text(ch: &Churn) -> String {
    match (ch.model_rate_per_s, &ch.model_why) {
        (Some(v), Some(w)) => format!("{v:.1}/s ({w})"),
        (Some(v), None) => format!("{v:.1}/s"),
        _ => "not given by the model".into(),
    }
}

fn churn_verdict_line(r: &FloodReport, ch: &Churn, basis: ChurnBasis) -> String {
    let v = r.verdict.name();
    match basis {
        ChurnBasis::MaxReached => format!(
            "max_reached: --max {} cycles were reached before any limit",
            thousands(r.config.max)
        ),
        ChurnBasis::PortsRanOut { ports: Some(p) } => format!(
            "{v}: {} cycles before the ports ran out, predicted {} usable ports within one TIME_WAIT lifetime",
            thousands(ch.cycles),
            thousands(p)
        ),
        ChurnBasis::PortsRanOut { ports: None } => format!(
            "{v}: {} cycles, no prediction from the model",
            thousands(ch.cycles)
        ),
        ChurnBasis::WithinPorts { ports } => format!(
            "{v}: sustained {:.0}/s with no limit; its {} cycles stayed within the {} ports one \
             TIME_WAIT lifetime can hold (model: {} sustainable)",
            ch.rate_per_s,
            thousands(ch.cycles),
            thousands(ports),
            ch.model_rate_per_s
                .map(|m| format!("{m:.0}/s"))
                .unwrap_or_else(|| "no rate".into())
        ),
        ChurnBasis::Rate => match ch.model_rate_per_s {
            Some(m) if r.verdict == Verdict::Match => format!(
                "{v}: sustained {:.0}/s with no limit, within the model's sustainable {:.0}/s",
                ch.rate_per_s, m
            ),
            Some(m) => format!(
                "{v}: sustained {:.0}/s with no limit, above the model's sustainable {:.0}/s",
                ch.rate_per_s, m
            ),
            None => format!(
                "{v}: sustained {:.0}/s, the model gave no sustainable rate",
                ch.rate_per_s
            ),
        },
    }
}

/// Why a run stopped before any limit: what to do for a measurement.
fn incomplete_line(r: &FloodReport) -> String {
    let why = match r.stop.reason {
        StopReason::Signal => "interrupted (SIGINT/SIGTERM)".to_string(),
        _ => format!("--duration {} s ran out", r.config.duration_s),
    };
    let predicted = r
        .prediction
        .as_ref()
        .map(|p| format!("{} ({})", thousands(p.ceiling), p.bottleneck))
        .unwrap_or_else(|| "nothing".into());
    format!(
        "incomplete: {why} after {} connections, before any limit; predicted {predicted}: \
         nothing was proven, run longer (--duration) or lower --max",
        thousands(r.measured())
    )
}

fn verdict_line(r: &FloodReport) -> String {
    if r.verdict == Verdict::Incomplete {
        return incomplete_line(r);
    }
    if let (Some(ch), Some(basis)) = (&r.churn, r.churn_basis()) {
        return churn_verdict_line(r, ch, basis);
    }
    match (&r.prediction, r.verdict) {
        (_, Verdict::MaxReached) => format!(
            "max_reached: --max {} was reached before any limit",
            thousands(r.config.max)
        ),
        (Some(p), Verdict::Match) => format!(
            "match: measured {} = predicted {} ({})",
            thousands(r.measured()),
            thousands(p.ceiling),
            p.bottleneck
        ),
        (Some(p), _) => format!(
            "differs: measured {}, predicted {} ({})",
            thousands(r.measured()),
            thousands(p.ceiling),
            p.bottleneck
        ),
        (None, Verdict::Match) => "match".into(),
        (None, _) => format!(
            "differs: measured {}, no prediction from the model",
            thousands(r.measured())
        ),
    }
}

/// How the server's count was taken.
fn held_note(t: &TargetInfo) -> String {
    match t.held_at_stop {
        Some(h) if Some(h) != t.server_accepted => format!(
            " at most (its own sockets on the port, sampled), {} at the stop",
            thousands(h)
        ),
        Some(_) => " (its own sockets on the port, sampled)".into(),
        None => " (ours minus its accept queue)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::flood::classify::Call;

    fn sample() -> FloodReport {
        let mut r: FloodReport = serde_json::from_value(serde_json::json!({
            "schema": 1,
            "config": {"mode": "loopback", "target": null, "workers": 1, "listen_ports": [41000],
                "listen_ports_in_range": 0, "source_ips": 1, "max": 100000, "duration_s": 30.0,
                "connect_timeout_ms": 2000, "graceful": false, "churn": false,
                "port_range": [40000, 40999], "backlog": 4096, "nofile_soft": 20000},
            "established": 1000, "duration_s": 0.05, "rate_per_s": 20000.0,
            "milestones": [{"connections": 1000, "seconds": 0.05, "rate_per_s": 20000.0}],
            "stop": {"reason": "limit", "errno": "EADDRNOTAVAIL", "call": "connect",
                "ceiling": "ephemeral_ports", "explanation": "ports used up", "at_s": 0.05},
            "prediction": {"scenario": "loopback", "ceiling": 1000, "bottleneck": "ephemeral_ports",
                "ceilings": [
                    {"name": "ephemeral_ports", "value": 1000, "why": "1000 ports", "lift": "widen the range"},
                    {"name": "process_fds", "value": 9996, "why": "20000 fds / 2", "lift": "raise nofile"}],
                "rates": [], "assumptions": []},
            "verdict": "match",
            "state_at_limit": null, "survival": {"closed": 10, "reopened": 10, "ok": true},
            "churn": null, "target": null, "below_require": null, "warnings": []
        }))
        .unwrap();
        r.stop.call = Some(Call::Connect);
        r
    }

    #[test]
    fn text_names_stop_prediction_and_lift() {
        let t = text(&sample());
        assert!(
            t.contains("stop: EADDRNOTAVAIL at connect() after 0.050 s → ephemeral_ports"),
            "{t}"
        );
        assert!(
            t.contains("verdict: match: measured 1,000 = predicted 1,000 (ephemeral_ports)"),
            "{t}"
        );
        assert!(t.contains("lift ephemeral_ports: widen the range"), "{t}");
        assert!(t.contains("survival: closed 10, reopened 10"), "{t}");
    }

    #[test]
    fn markdown_sections_and_ladder() {
        let m = markdown(&sample());
        assert!(m.contains("| 1,000 | 0.050 | 20000 |"), "{m}");
        assert!(m.contains("- `ephemeral_ports`: widen the range"), "{m}");
        assert!(
            m.contains("the next limit is `process_fds` at 9,996"),
            "{m}"
        );
    }

    #[test]
    fn json_round_trips() {
        let r = sample();
        let back: FloodReport = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn differs_shows_both_numbers() {
        let mut r = sample();
        r.established = 900;
        r.verdict = Verdict::Differs;
        assert!(text(&r).contains("differs: measured 900, predicted 1,000"));
    }

    #[test]
    fn churn_verdict_speaks_of_rates() {
        let mut r = sample();
        r.churn = Some(Churn {
            cycles: 42_000,
            rate_per_s: 14_000.0,
            time_wait: Some(14_000),
            model_rate_per_s: Some(28_232.0),
            model_why: Some("28232 ports / 1 s".into()),
            predicted_ports: None,
        });
        r.stop.reason = StopReason::Deadline;
        let t = text(&r);
        assert!(t.contains("verdict: match: sustained 14000/s with no limit, within the model's sustainable 28232/s"), "{t}");
        assert!(
            t.contains("model sustainable rate: 28232.0/s (28232 ports / 1 s)"),
            "{t}"
        );
        r.stop.reason = StopReason::Limit;
        r.churn.as_mut().unwrap().cycles = 1000;
        assert!(text(&r).contains("1,000 cycles before the ports ran out, predicted 1,000"));
    }

    #[test]
    fn churn_within_the_ports_says_so() {
        let mut r = sample();
        r.churn = Some(Churn {
            cycles: 42_000,
            rate_per_s: 14_000.0,
            time_wait: Some(14_000),
            model_rate_per_s: None,
            model_why: None,
            predicted_ports: Some(50_000),
        });
        r.stop.reason = StopReason::Deadline;
        assert_eq!(
            r.churn_basis(),
            Some(ChurnBasis::WithinPorts { ports: 50_000 })
        );
        let t = text(&r);
        assert!(
            t.contains("its 42,000 cycles stayed within the 50,000 ports one TIME_WAIT lifetime can hold (model: no rate sustainable)"),
            "{t}"
        );
        r.verdict = Verdict::MaxReached;
        assert_eq!(r.churn_basis(), Some(ChurnBasis::MaxReached));
    }

    #[test]
    fn thousands_sep() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
