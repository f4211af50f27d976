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

	mod triggers {
		use apg_store::contract::TriggerBackend;

		async fn make() -> Option<(tempfile::TempDir, Box<dyn TriggerBackend>)> {
			let dir = tempfile::tempdir().unwrap();
			let store =
				apg_store::SqliteStore::open_dir(dir.path(), apg_store::Synchronous::Normal)
					.await
					.unwrap();
			apg_core::Store::migrate(&store).await.unwrap();
			Some((dir, Box::new(store)))
		}

		apg_store::trigger_suite!(make());
	}
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
		let (schema, store) = store().await?;
		Some((schema, Box::new(store)))
	}

	/// A migrated store in a schema of its own.
	async fn store() -> Option<(Schema, PgStore)> {
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
		Some((Schema { url, name }, store))
	}

	apg_store::contract_suite!(make());

	mod triggers {
		use apg_store::contract::TriggerBackend;

		async fn make() -> Option<(super::Schema, Box<dyn TriggerBackend>)> {
			let (schema, store) = super::store().await?;
			Some((schema, Box::new(store)))
		}

		apg_store::trigger_suite!(make());
	}

	/// Checkpoints committed at once under leases: one whose lease was taken over fails with
	/// `LeaseLost` and writes nothing, whatever group it was written in; the others go in.
	#[tokio::test]
	async fn group_commit_fences_each_batch_alone() {
		use std::time::Duration;

		use apg_core::store::StoreError;
		use apg_core::{Batch, Fence, LogLevel, LogRecord, WorkQueue, Write};
		use apg_store::PgCluster;
		use apg_store::contract::{sample_execution, sample_workflow};

		let Some((_schema, store)) = store().await else {
			eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
			return;
		};
		let w = sample_workflow("Fenced", "u1");
		store.create_workflow(&w).await.unwrap();
		let executions: Vec<_> = (0..32).map(|_| sample_execution(&w)).collect();
		let start = Batch {
			writes: executions
				.iter()
				.map(|e| Write::Execution(Box::new(e.clone())))
				.collect(),
			..Default::default()
		};
		store.commit(&start).await.unwrap();
		let node = PgCluster::join(&store, "n1".to_owned()).await.unwrap();
		let claimed = node
			.claim(64, Duration::from_secs(60), Duration::ZERO)
			.await
			.unwrap();
		assert_eq!(claimed.len(), 32);
		let batches: Vec<(bool, Batch)> = claimed
			.iter()
			.enumerate()
			.map(|(i, (e, token))| {
				let stale = i % 4 == 0;
				let log = LogRecord {
					execution_id: e.id,
					at: 1,
					level: LogLevel::Info,
					component_id: None,
					message: format!("checkpoint {i}"),
				};
				let fence = Fence {
					execution_id: e.id,
					node: "n1".to_owned(),
					token: if stale { token - 1 } else { *token },
				};
				let batch = Batch {
					writes: vec![Write::Log(log)],
					fences: vec![fence],
				};
				(stale, batch)
			})
			.collect();
		let answers =
			futures_util::future::join_all(batches.iter().map(|(_, b)| store.commit(b))).await;
		for ((stale, batch), answer) in batches.iter().zip(answers) {
			let id = batch.fences[0].execution_id;
			match answer {
				Err(StoreError::LeaseLost(lost)) => {
					assert!(stale, "{id} was refused");
					assert_eq!(lost, vec![id]);
				}
				Ok(()) => assert!(!stale, "{id} committed under a stale lease"),
				Err(e) => panic!("{id}: {e}"),
			}
			let logs = apg_core::Store::logs(&store, id).await.unwrap();
			assert_eq!(logs.len(), usize::from(!stale), "{id}");
		}
	}
}
