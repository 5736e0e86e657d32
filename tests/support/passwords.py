"""The seeded users' password hash in tests: made once per run, and with a lower scrypt work factor
than the product's (werkzeug reads the factor from the stored hash when it checks a password).
The product's own hashing (registry.accounts.service.hash_password) is unchanged; a test that
checks a password the app itself stored, or an unknown user's sign-in, still pays its full cost.
At the product's factor every sign-in of a test cost about 0.1-0.5 s of scrypt."""

from __future__ import annotations

from functools import cache

from werkzeug.security import generate_password_hash

# scrypt with n=2**12 (the product's werkzeug default: n=2**15), r=8, p=1.
TEST_METHOD = "scrypt:4096:8:1"


@cache
def seeded_hash(password: str) -> str:
    return generate_password_hash(password, method=TEST_METHOD)
