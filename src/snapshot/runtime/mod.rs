//! Runtime detection: Erlang, JVM, Go, Node, nginx.
