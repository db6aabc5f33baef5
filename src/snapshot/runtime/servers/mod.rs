//! The catalog's entries, one file per server product, and the runtimes (see
//! `super::catalog`).

pub mod apache;
pub mod ejabberd;
pub mod haproxy;
pub mod lighttpd;
pub mod memcached;
pub mod mosquitto;
pub mod mysql;
pub mod nginx;
pub mod pgbouncer;
pub mod postgres;
pub mod rabbitmq;
pub mod redis;
pub mod runtimes;
