//! The store contract, run against every backend: memory and SQLite always, PostgreSQL when
//! `APG_TEST_DATABASE_URL` is set (each test in a schema of its own, dropped afterwards).

mod memory {
	use apg_store::MemoryStore;
	use apg_store::contract::Backend;

	async fn make() -> Option<((), Box<dyn Backend>)> {
		Some(((), Box::new(MemoryStore::new())))
	}

	apg_store::contract_suite!(make());
}

mod sqlite {
	use apg_core::Store;
	use apg_store::contract::Backend;
	use apg_store::{SqliteStore, Synchronous};

	async fn make() -> Option<(tempfile::TempDir, Box<dyn Backend>)> {
		let dir = tempfile::tempdir().unwrap();
		let store = SqliteStore::open_dir(dir.path(), Synchronous::Normal)
			.await
			.unwrap();
		store.migrate().await.unwrap();
		Some((dir, Box::new(store)))
	}

	apg_store::contract_suite!(make());
}

mod postgres {
	use apg_core::Store;
	use apg_store::PgStore;
	use apg_store::contract::Backend;
	use sqlx::Connection;
	use sqlx::postgres::{PgConnectOptions, PgConnection};

	/// A schema of one test; dropped with everything in it when the test ends.
	pub(crate) struct Schema {
		url: String,
		name: String,
	}

	impl Drop for Schema {
		fn drop(&mut self) {
			let (url, name) = (self.url.clone(), self.name.clone());
			// Drop runs inside the test's runtime, which cannot block on itself.
			let _ = std::thread::spawn(move || {
				let rt = tokio::runtime::Builder::new_current_thread()
					.enable_all()
					.build()
					.unwrap();
				rt.block_on(async {
					if let Ok(mut conn) = PgConnection::connect(&url).await {
						let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
							.execute(&mut conn)
							.await;
					}
				});
			})
			.join();
		}
	}

	pub(crate) async fn make() -> Option<(Schema, Box<dyn Backend>)> {
		let url = std::env::var("APG_TEST_DATABASE_URL").ok()?;
		let mut conn = PgConnection::connect(&url)
			.await
			.expect("APG_TEST_DATABASE_URL is set but PostgreSQL is unreachable");
		let name = format!("apg_test_{}", uuid::Uuid::new_v4().simple());
		sqlx::query(&format!("CREATE SCHEMA {name}"))
			.execute(&mut conn)
			.await
			.unwrap();
		let options: PgConnectOptions = url.parse().unwrap();
		let store = PgStore::connect_with(options.options([("search_path", name.as_str())]))
			.await
			.unwrap();
		store.migrate().await.unwrap();
		Some((Schema { url, name }, Box::new(store)))
	}

	apg_store::contract_suite!(make());
}
