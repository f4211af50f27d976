//! Webhook signatures: the HMAC of a raw body under a shared secret, as hex, optionally
//! prefixed with the algorithm's name (`sha256=…`, GitHub's `X-Hub-Signature-256`). Compared in
//! constant time.

use apg_core::hook::Algorithm;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

fn decode_hex(text: &str) -> Option<Vec<u8>> {
	if !text.len().is_multiple_of(2) {
		return None;
	}
	(0..text.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
		.collect()
}

/// Whether `presented` is the signature of `body` under `secret`.
pub fn verify_signature(algorithm: Algorithm, secret: &[u8], body: &[u8], presented: &str) -> bool {
	let presented = presented.trim();
	let hex = match algorithm {
		Algorithm::Sha256 => presented.strip_prefix("sha256=").unwrap_or(presented),
		Algorithm::Sha512 => presented.strip_prefix("sha512=").unwrap_or(presented),
	};
	let Some(tag) = decode_hex(hex) else {
		return false;
	};
	match algorithm {
		Algorithm::Sha256 => Hmac::<Sha256>::new_from_slice(secret)
			.map(|mut mac| {
				mac.update(body);
				mac.verify_slice(&tag).is_ok()
			})
			.unwrap_or(false),
		Algorithm::Sha512 => Hmac::<Sha512>::new_from_slice(secret)
			.map(|mut mac| {
				mac.update(body);
				mac.verify_slice(&tag).is_ok()
			})
			.unwrap_or(false),
	}
}

/// The signature of `body` under `secret`, `sha256=`-prefixed hex as GitHub sends it.
pub fn sign(algorithm: Algorithm, secret: &[u8], body: &[u8]) -> String {
	let (name, tag) = match algorithm {
		Algorithm::Sha256 => {
			let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
			mac.update(body);
			("sha256", mac.finalize().into_bytes().to_vec())
		}
		Algorithm::Sha512 => {
			let mut mac = Hmac::<Sha512>::new_from_slice(secret).expect("HMAC takes any key");
			mac.update(body);
			("sha512", mac.finalize().into_bytes().to_vec())
		}
	};
	let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
	format!("{name}={hex}")
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn githubs_example_verifies_and_tampering_does_not() {
		// GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
		let secret = b"It's a Secret to Everybody";
		let body = b"Hello, World!";
		let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
		assert_eq!(sign(Algorithm::Sha256, secret, body), sig);
		assert!(verify_signature(Algorithm::Sha256, secret, body, sig));
		assert!(verify_signature(Algorithm::Sha256, secret, body, &sig[7..]));
		assert!(!verify_signature(
			Algorithm::Sha256,
			secret,
			b"Hello, World?",
			sig
		));
		assert!(!verify_signature(Algorithm::Sha256, b"wrong", body, sig));
		assert!(!verify_signature(
			Algorithm::Sha256,
			secret,
			body,
			"sha256=zz"
		));
		assert!(!verify_signature(Algorithm::Sha256, secret, body, ""));
		let long = sign(Algorithm::Sha512, secret, body);
		assert!(verify_signature(Algorithm::Sha512, secret, body, &long));
		assert!(!verify_signature(Algorithm::Sha256, secret, body, &long));
	}
}
