//! End-to-end tests of the real `apg-workflow` binary: the commands a user types, a crash with
//! SIGKILL in the middle of 200 executions, and the server over HTTP, GraphQL and WebSocket.

mod bad_input;
mod chaos;
mod children;
mod cli;
mod cluster;
mod connectors;
mod crash;
mod dashboard;
mod hooks;
mod pipeline;
mod rerun;
mod sandbox;
mod schedules;
mod security;
mod server;
mod ui_server;
mod util;
mod waits;
