//! wasm bindings (in progress).
