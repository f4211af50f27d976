//! `script_execution` through the binary: hostile scripts fail their step, the server stays up.
