"""A real SMTP server for the `email` tests (aiosmtpd), on 127.0.0.1.

Usage: smtp_sink.py PORT OUT_DIR. Accepts AUTH PLAIN/LOGIN for mailer / s3cret-pass only (over
plain text: this is a loopback test), refuses recipients starting with `reject` (550) and
`busy` (451), and writes each message it receives to OUT_DIR/<n>.json, parsed with Python's
`email` package (independent of the Rust side): the envelope, the login used, the headers and
every MIME part with its bytes in base64. Prints `ready` once listening.
"""

import base64
import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

PORT = int(sys.argv[1])
OUT = sys.argv[2]
LOGINS = {}


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"mailer" and auth_data.password == b"s3cret-pass"
    if ok:
        LOGINS[id(session)] = auth_data.login.decode()
    if not ok:
        # Answered here: without a message aiosmtpd 1.4 leaves the client waiting.
        return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication failed")
    return AuthResult(success=True)


class Handler:
    count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                parts.append({"content_type": part.get_content_type()})
                continue
            payload = part.get_payload(decode=True) or b""
            parts.append({
                "content_type": part.get_content_type(),
                "filename": part.get_filename(),
                "base64": base64.b64encode(payload).decode(),
            })
        Handler.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": LOGINS.get(id(session)),
            "headers": {k.lower(): str(v) for k, v in message.items()},
            "top": message.get_content_type(),
            "parts": parts,
        }
        path = os.path.join(OUT, f"{Handler.count}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=PORT,
    authenticator=authenticator,
    auth_require_tls=False,
    auth_required=False,
)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
