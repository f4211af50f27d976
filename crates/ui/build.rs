//! Rebuilds this crate when the committed bundle changes. rust-embed reads `ui/dist` in its
//! derive, and cargo would only notice a change to a file it already embedded, not a bundle
//! whose hashed file names changed: watching the directories catches both.

fn main() {
	for dir in ["../../ui/dist", "../../ui/dist/assets"] {
		println!("cargo:rerun-if-changed={dir}");
	}
}
