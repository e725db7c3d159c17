//! Host bindings for the Spin interfaces this runtime implements.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "wit",
    world: "opsflow:host/spin-imports",
    imports: {
        // Returns a stream, so it needs the store to create it.
        "spin:key-value/key-value@3.0.0.[method]store.get-keys": store | trappable,
        default: async | trappable,
    },
    with: {
        "spin:key-value/key-value@3.0.0.store": super::kv_host::KvStore,
        "wasi:keyvalue/store@0.2.0-draft2.bucket": super::kv_host::KvStore,
        "wasi:keyvalue/atomics@0.2.0-draft2.cas": super::kv_host::KvCas,
    },
});

pub mod cron {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "spin:cron/spin-cron",
        exports: { default: async | store },
    });
}
