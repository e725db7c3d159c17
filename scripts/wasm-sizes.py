#!/usr/bin/env python3
"""What a component's .wasm is made of (BENCHMARKS.md, "Component sizes").

    scripts/wasm-sizes.py <component.wasm> [--top N]

Reads the core module inside a component (the largest one), and prints its code
and data sizes, then the code by crate, by kind (serde, async state machines,
collections, crypto, ...), the functions compiled more than once (generic
instances: the same name, several bodies) and the largest functions. Names come
from the `name` section, so build unstripped into a separate target directory:

    CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=false \\
      cargo build --target wasm32-wasip2 --release --target-dir /tmp/sizes -p <component>

Standard library only; a stripped file still gives the section sizes.
"""
import collections
import re
import sys


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def sections(b):
    i = 8
    while i < len(b):
        sid = b[i]
        n, j = leb(b, i + 1)
        yield sid, j, n
        i = j + n


def core_module(b):
    """The module itself, or the largest core module section of a component."""
    if b[4:8] == b"\x01\x00\x00\x00":
        return b
    best = max(((s, n) for sid, s, n in sections(b) if sid == 1), key=lambda x: x[1])
    return b[best[0]:best[0] + best[1]]


def demangle(n):
    """Legacy Rust mangling (`_ZN...E`) to a path, without the hash."""
    if not n.startswith("_ZN"):
        return n
    i, parts = 3, []
    while i < len(n) and n[i].isdigit():
        j = i
        while n[j].isdigit():
            j += 1
        length = int(n[i:j])
        parts.append(n[j:j + length])
        i = j + length
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    s = "::".join(parts)
    for a, b in [("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","),
                 ("..", "::"), ("$u7b$", "{"), ("$u7d$", "}"), ("$BP$", "*"),
                 ("$u5b$", "["), ("$u5d$", "]")]:
        s = s.replace(a, b)
    return s


def functions(m):
    """(code bytes, name) per function body, and the section sizes."""
    imported, sizes, names, secs = 0, [], {}, collections.Counter()
    for sid, s, n in sections(m):
        secs[sid] += n
        if sid == 2:  # imports: function imports shift the function indices
            count, i = leb(m, s)
            for _ in range(count):
                for _ in range(2):
                    length, i = leb(m, i)
                    i += length
                kind = m[i]
                i += 1
                if kind == 0:
                    _, i = leb(m, i)
                    imported += 1
                elif kind in (1, 2):
                    if kind == 1:
                        i += 1
                    flags, i = leb(m, i)
                    _, i = leb(m, i)
                    if flags & 1:
                        _, i = leb(m, i)
                else:
                    i += 2
        elif sid == 10:
            count, i = leb(m, s)
            for _ in range(count):
                length, i = leb(m, i)
                sizes.append(length)
                i += length
        elif sid == 0:
            length, i = leb(m, s)
            if m[i:i + length] == b"name":
                i += length
                while i < s + n:
                    sub = m[i]
                    sl, i = leb(m, i + 1)
                    if sub == 1:
                        count, j = leb(m, i)
                        for _ in range(count):
                            idx, j = leb(m, j)
                            nl, j = leb(m, j)
                            names[idx] = m[j:j + nl].decode(errors="replace")
                            j += nl
                    i += sl
    fns = [(size, demangle(names.get(imported + k, f"func[{imported + k}]")))
           for k, size in enumerate(sizes)]
    return fns, secs


KINDS = [
    ("serde_ignored (unknown-field tracking)", r"serde_ignored"),
    ("serde impls and instances", r"serde|Deserial|Serial|Visitor"),
    ("async state machines (handler bodies, callees inlined)", r"\{\{closure\}\}"),
    ("core::fmt / Debug / Display", r"fmt::"),
    ("chrono", r"chrono"),
    ("crypto (p256, sha*, hmac, der, base64)",
     r"p256|primeorder|elliptic|crypto_bigint|ecdsa|sha1|sha2|hmac|der::|spki|subtle|base64"),
    ("wasip3 / wit-bindgen / http / spin-sdk", r"wasip3|wit_bindgen|http::|spin_sdk"),
    ("alloc, collections, sorting", r"alloc::|hashbrown|dlmalloc|core::slice::sort"),
]


def crate(name):
    n = re.sub(r"^_?<+", "", name)
    return n.split("::")[0] if "::" in n else "(unnamed)"


def main():
    args = sys.argv[1:]
    top = 30
    if "--top" in args:
        k = args.index("--top")
        top = int(args[k + 1])
        del args[k:k + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    b = open(args[0], "rb").read()
    m = core_module(b)
    fns, secs = functions(m)
    code = sum(s for s, _ in fns)
    print(f"{args[0]}: {len(b)} bytes; core module {len(m)}: code {secs[10]}, "
          f"data {secs[11]}, custom sections {secs[0]}; {len(fns)} functions")
    if all(n.startswith("func[") for _, n in fns):
        print("(no name section: build unstripped for the breakdown)")
        return
    print("\ncode by crate (the impl's first path for `<X as Y>`)")
    by = collections.Counter()
    for s, n in fns:
        by[crate(n)] += s
    for c, s in by.most_common(top):
        print(f"{s:9d} {100 * s / code:5.1f}%  {c}")
    print("\ncode by kind (first match wins)")
    by = collections.Counter()
    for s, n in fns:
        by[next((k for k, r in KINDS if re.search(r, n)), "other")] += s
    for k, s in by.most_common():
        print(f"{s:9d} {100 * s / code:5.1f}%  {k}")
    print("\ncompiled more than once (total, instances, name)")
    groups = collections.defaultdict(lambda: [0, 0])
    for s, n in fns:
        groups[n][0] += s
        groups[n][1] += 1
    multi = sorted(((s, c, n) for n, (s, c) in groups.items() if c > 1), reverse=True)
    for s, c, n in multi[:top]:
        print(f"{s:9d} {c:4d}  {n[:150]}")
    print("\nlargest functions")
    for s, n in sorted(fns, reverse=True)[:top]:
        print(f"{s:9d}  {n[:150]}")


if __name__ == "__main__":
    main()
