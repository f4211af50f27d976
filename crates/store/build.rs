//! `sqlx::migrate!` embeds the migration files at compile time; this makes cargo rebuild the crate
//! when one is added or changed (otherwise a new migration would silently be left out).

fn main() {
	println!("cargo:rerun-if-changed=migrations");
}
