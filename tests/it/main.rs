//! crossdock's integration tests: one binary, real CNCF distribution
//! registries and a token server on loopback, started per test on free ports.

mod harness;
mod hostile;
mod proxy;
mod report;

mod auth;
mod cli;
mod copy;
mod faults;
mod features;
mod measure;
mod migrate;
mod prune;
mod referrers;
mod rewrite;
mod roundtrips;
mod security;
mod throttle;
mod watch;
