//! The catalog's entries, one file per server product (see `super::catalog`).

pub mod apache;
pub mod ejabberd;
pub mod lighttpd;
pub mod memcached;
pub mod mosquitto;
pub mod pgbouncer;
pub mod rabbitmq;
