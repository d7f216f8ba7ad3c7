"""Verifies Warrant receipts (compact JWS, one per line on stdin) against a
JWK Set URL with PyCA cryptography, and checks that they chain."""
import base64, hashlib, json, sys, urllib.request
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

b64 = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
keys = {k["kid"]: k for k in json.load(urllib.request.urlopen(sys.argv[1]))["keys"]}
previous = None
for jws in sys.stdin.read().split():
    header, payload, signature = jws.split(".")
    key = Ed25519PublicKey.from_public_bytes(b64(keys[json.loads(b64(header))["kid"]]["x"]))
    key.verify(b64(signature), f"{header}.{payload}".encode())  # raises if changed
    receipt = json.loads(b64(payload))
    assert previous in (None, receipt["previous"]), f"chain broken at {receipt['sequence']}"
    previous = hashlib.sha256(jws.encode()).hexdigest()
    print(receipt["sequence"], receipt["event"], receipt["to"], "verified")
