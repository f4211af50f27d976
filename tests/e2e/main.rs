//! End-to-end tests of the real `apg-workflow` binary: the commands a user types, and a crash
//! with SIGKILL in the middle of 200 executions.

mod cli;
mod crash;
mod util;
