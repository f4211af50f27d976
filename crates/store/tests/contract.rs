//! The store contract, run against every backend this build has.

mod memory {
	use apg_core::Store;
	use apg_store::MemoryStore;

	async fn make() -> ((), Box<dyn Store>) {
		((), Box::new(MemoryStore::new()))
	}

	apg_store::contract_suite!(make());
}

mod sqlite {
	use apg_core::Store;
	use apg_store::{SqliteStore, Synchronous};

	async fn make() -> (tempfile::TempDir, Box<dyn Store>) {
		let dir = tempfile::tempdir().unwrap();
		let store = SqliteStore::open_dir(dir.path(), Synchronous::Normal)
			.await
			.unwrap();
		store.migrate().await.unwrap();
		(dir, Box::new(store))
	}

	apg_store::contract_suite!(make());
}
