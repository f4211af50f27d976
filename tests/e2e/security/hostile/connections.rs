//! Slow and silent clients: 200 connections that send nothing or their headers a byte every
//! half second are cut off at the header deadline while `/health` keeps answering, and one
//! address cannot hold more connections than its share.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use super::*;

/// The server's address as a socket address.
fn addr(server: &Server) -> SocketAddr {
	server
		.base
		.trim_start_matches("http://")
		.parse()
		.expect("a socket address")
}

/// Whether the server closed `stream` (a read returns end of file or an error).
fn closed(mut stream: &TcpStream) -> bool {
	stream
		.set_read_timeout(Some(Duration::from_millis(20)))
		.unwrap();
	let mut buf = [0u8; 256];
	match stream.read(&mut buf) {
		Ok(0) => true,
		// A 408 or 400 answer before the close counts as closing.
		Ok(_) => true,
		Err(e) => !matches!(
			e.kind(),
			std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
		),
	}
}

async fn slow_clients_are_cut_off_and_health_answers(
	mut server: Server,
	_: Option<std::path::PathBuf>,
) {
	let watch = Watch::start(&server);
	let to = addr(&server);
	let started = Instant::now();
	let attack = tokio::task::spawn_blocking(move || {
		let silent: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(to).unwrap()).collect();
		let mut dripping: Vec<TcpStream> =
			(0..100).map(|_| TcpStream::connect(to).unwrap()).collect();
		let request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
		let mut sent = 0;
		// Drip one byte every half second to each, for eight seconds (four header deadlines).
		while started.elapsed() < Duration::from_secs(8) {
			for s in &mut dripping {
				let _ = s.write_all(&request[sent % request.len()..sent % request.len() + 1]);
			}
			sent += 1;
			std::thread::sleep(Duration::from_millis(500));
		}
		let silent_closed = silent.iter().filter(|s| closed(s)).count();
		let dripping_closed = dripping.iter().filter(|s| closed(s)).count();
		(silent_closed, dripping_closed)
	});
	// Meanwhile, ordinary requests are answered promptly.
	let client = reqwest::Client::new();
	while started.elapsed() < Duration::from_secs(7) {
		let asked = Instant::now();
		let r = client.get(server.url("/health")).send().await.unwrap();
		assert_eq!(r.status(), 200);
		assert!(
			asked.elapsed() < Duration::from_secs(2),
			"/health took {:?}",
			asked.elapsed()
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let (silent_closed, dripping_closed) = attack.await.unwrap();
	assert_eq!(
		silent_closed, 100,
		"silent connections outlived the header deadline"
	);
	assert_eq!(
		dripping_closed, 100,
		"dripping connections outlived the header deadline"
	);
	// One address holds at most its share: past the 300th, a connection from 127.0.0.2 is
	// closed at once, while another address is served.
	let other: std::net::IpAddr = "127.0.0.2".parse().unwrap();
	let mut held = Vec::new();
	for _ in 0..310 {
		let socket = tokio::net::TcpSocket::new_v4().unwrap();
		socket.bind(SocketAddr::new(other, 0)).unwrap();
		held.push(socket.connect(to).await.unwrap().into_std().unwrap());
	}
	tokio::time::sleep(Duration::from_millis(300)).await;
	let refused = held.iter().filter(|s| closed(s)).count();
	assert_eq!(refused, 10, "connections over the per-address cap");
	let r = client.get(server.url("/health")).send().await.unwrap();
	assert_eq!(r.status(), 200);
	watch.finish(&mut server).await;
}

const LIMITS: &[(&str, &str)] = &[
	("APG_HEADER_TIMEOUT_SECONDS", "2"),
	("APG_MAX_CONNECTIONS_PER_ADDRESS", "300"),
];

on_both!(
	slow_clients,
	slow_clients_are_cut_off_and_health_answers,
	LIMITS
);
