//! The network peers a component may reach: the SSRF guard (DESIGN §6) that `http_request`,
//! `database_query` and `email` share, so a database or SMTP host is held to exactly the rules
//! an HTTP URL is (a workflow author could otherwise reach `10.0.0.5:5432` or the cloud metadata
//! service through whichever component checked less).

mod guard;
mod ranges;

pub(crate) use guard::{AllowList, resolve_checked};
