//! macOS persistence and launchd limits (pure text; the writers are in sysctl.rs and persist).
//!
//! * A LaunchDaemon plist (`/Library/LaunchDaemons/io.porttune.NAME.plist`, root-owned, 0644)
//!   that launchd runs at boot: it sets the profile's sysctls with sysctl(8) and the maxfiles
//!   limit with `launchctl limit maxfiles SOFT HARD` (cirruslabs/macos-image-templates#176,
//!   the usual `limit.maxfiles.plist`).
//! * `launchctl limit maxfiles` prints `maxfiles    256            unlimited`; it takes numbers
//!   only when setting (launchctl refuses `unlimited` there).

/// Where the plist goes (before `--root`).
pub fn plist_path(profile: &str) -> String {
    format!("/Library/LaunchDaemons/io.porttune.{profile}.plist")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The plist: one `/bin/sh -c` program that applies `sysctls` and the `maxfiles` limit.
pub fn plist(profile: &str, sysctls: &[(String, String)], maxfiles: Option<&str>) -> String {
    let mut cmds: Vec<String> = Vec::new();
    if !sysctls.is_empty() {
        let kv: Vec<String> = sysctls.iter().map(|(k, v)| format!("{k}={v}")).collect();
        cmds.push(format!("/usr/sbin/sysctl -w {}", kv.join(" ")));
    }
    if let Some(m) = maxfiles {
        cmds.push(format!("/bin/launchctl limit maxfiles {m}"));
    }
    let script = xml_escape(&cmds.join("; "));
    let label = xml_escape(&format!("io.porttune.{profile}"));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by porttune from profile {label_name}; `porttune rollback` removes it. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{label}</string>
  <key>ProgramArguments</key>
  <array>
    <string>/bin/sh</string>
    <string>-c</string>
    <string>{script}</string>
  </array>
  <key>RunAtLoad</key>
  <true/>
</dict>
</plist>
"#,
        label_name = xml_escape(profile),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plist_runs_sysctl_and_launchctl() {
        let p = plist(
            "macos-dev",
            &[
                ("kern.maxfiles".into(), "524288".into()),
                ("kern.ipc.somaxconn".into(), "1024".into()),
            ],
            Some("262144 262144"),
        );
        assert!(p.contains("<string>io.porttune.macos-dev</string>"));
        assert!(p.contains(
            "<string>/usr/sbin/sysctl -w kern.maxfiles=524288 kern.ipc.somaxconn=1024; /bin/launchctl limit maxfiles 262144 262144</string>"
        ));
        assert!(p.contains("<key>RunAtLoad</key>\n  <true/>"));
        assert_eq!(
            plist_path("x"),
            "/Library/LaunchDaemons/io.porttune.x.plist"
        );
    }
}
