"""Schemathesis hooks for tests/conformance.rs: two repairs of generated requests,
each for something the generator cannot know or gets wrong, never to hide an answer.

A client sends a fresh Idempotency-Key for each logical request and repeats a key
only to retry that same request; the API answers a key reused with another body
with 422 `idempotency-key-reused` (as the IETF Idempotency-Key draft says). The
generator cannot know that and reuses one valid key for many different bodies, so
each well-formed key is made unique here. Malformed keys are sent as generated,
so their refusal is still checked.

Schemathesis' coverage phase builds header values from letters and digits only,
so for If-Match (an entity-tag, `"<version>"`, RFC 9110 §8.8.3) it sends e.g. a
bare `0` and calls it valid. A case generated as valid gets a well-formed tag
(its digits, quoted); the server rightly refuses a bare `0`, which the negative
cases, sent as generated, check.
"""

import re
import uuid

import schemathesis

WELL_FORMED = re.compile(r"^[!-~]{1,128}$")
ENTITY_TAG = re.compile(r'^(W/)?"[0-9]{1,19}"$')
DIGITS = re.compile(r"[0-9]{1,19}")


def _positive(case):
    # Only requests generated as valid get a fresh key: a negative or
    # missing-header case is sent exactly as the generator made it.
    meta = case.meta
    return meta is None or meta.generation.mode.name == "POSITIVE"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if not case.headers or not _positive(case):
        return
    for name in list(case.headers):
        value = case.headers[name]
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            continue
        if name.lower() == "idempotency-key" and WELL_FORMED.match(value):
            case.headers[name] = uuid.uuid4().hex
        elif name.lower() == "if-match" and not ENTITY_TAG.match(value):
            digits = DIGITS.search(value)
            case.headers[name] = '"' + (digits.group(0) if digits else "0") + '"'
