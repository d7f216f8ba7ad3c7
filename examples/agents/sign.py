"""Prints the `Warrant-Agent-Signature` header for a request body (stdin),
signed with PyCA cryptography by the agent's secret key: the `secretKey`
JWK that `POST /agents` answered, in the file named by the argument."""
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

b64 = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
jwk = json.load(open(sys.argv[1]))
key = Ed25519PrivateKey.from_private_bytes(b64(jwk["d"]))
signature = key.sign(hashlib.sha256(sys.stdin.buffer.read()).digest())
print(f"keyid={jwk['kid']},sig={base64.urlsafe_b64encode(signature).decode().rstrip('=')}")
