//! Issue 4, acceptance 5: a real Erlang node (erlang-nox) listening with +Q 8192, flooded
//! with --target in a private network namespace: the connections it accepted before it
//! stopped match the prediction for that PID (its port table).

mod common;

#[test]
#[ignore = "needs root and unshare -n, erl (erlang-nox)"]
fn flood_erlang_port_limit() {
    if !common::need_root("flood_erlang_port_limit") || !common::need_erl("flood_erlang_port_limit")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // An acceptor that holds every connection; when the port table is full, accept returns
    // system_limit and the node sheds the connection it could not take.
    let eval = "{ok,L}=gen_tcp:listen(0,[{ip,{127,0,0,1}},{backlog,64},{active,false}]), \
                {ok,P}=inet:port(L), io:format(\"~p~n\",[P]), \
                F=fun G() -> case gen_tcp:accept(L) of {ok,_}->ok; {error,_}->timer:sleep(50) end, G() end, F().";
    let script = format!(
        "erl -noshell +Q 8192 -eval '{eval}' > {d}/port 2>/dev/null &\n\
         EP=$!\n\
         for i in $(seq 1 100); do [ -s {d}/port ] && break; sleep 0.1; done\n\
         rc=0\n\
         \"$PORTTUNE\" flood --target 127.0.0.1:$(cat {d}/port) --connect-timeout 1000 --max 20000 --duration 30 --format json > {d}/flood.json || rc=$?\n\
         kill $EP\n\
         wait $EP 2>/dev/null || true\n\
         exit $rc",
        d = dir.path().display()
    );
    let out = common::netns_sh(&script);
    let text = std::fs::read_to_string(dir.path().join("flood.json")).unwrap_or_default();
    assert_eq!(
        out.status.code(),
        Some(0),
        "flood exit: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["verdict"], "match", "{v}");
    assert_eq!(v["prediction"]["bottleneck"], "erlang_port_limit", "{v}");
    let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
    // +Q 8192 minus the node's 3 ports and its listener.
    assert_eq!(predicted, 8192 - 4, "{v}");
    let accepted = v["target"]["server_accepted"].as_u64().unwrap();
    assert!(
        accepted.abs_diff(predicted) <= 2,
        "accepted {accepted}, predicted {predicted}"
    );
    assert_eq!(v["stop"]["ceiling"], "erlang_port_limit", "{v}");
    assert!(
        v["target"]["command"].as_str().unwrap().contains("beam"),
        "{v}"
    );
}
