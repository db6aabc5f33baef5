%% The seed's test on a Mac: one node holds both ends of every loopback connection. It
%% listens on 127.0.0.1, prints "ready PORT", waits for a line on stdin (so `porttune check
%% --pid` reads it idle first), then connects and accepts until the first failure, closes
%% them and prints "held N REASON". Used by .github/workflows/macos.yml.
-module(seed).
-export([main/0]).

main() ->
    {ok, L} = gen_tcp:listen(0, [{active, false}, {backlog, 1024}, {ip, {127, 0, 0, 1}}]),
    {ok, P} = inet:port(L),
    io:format("ready ~p~n", [P]),
    _ = io:get_line(""),
    {N, Why, Keep} = loop(L, P, 0, []),
    %% Close them first: at the limit the node cannot even write to standard output.
    [gen_tcp:close(S) || S <- Keep],
    io:format("held ~p ~w~n", [N, Why]),
    halt().

loop(L, P, N, Keep) ->
    case catch gen_tcp:connect({127, 0, 0, 1}, P, [{active, false}], 5000) of
        {ok, C} ->
            case catch gen_tcp:accept(L, 5000) of
                {ok, S} -> loop(L, P, N + 1, [C, S | Keep]);
                Err -> {N, {accept, Err}, [C | Keep]}
            end;
        Err ->
            {N, {connect, Err}, Keep}
    end.
