//! Reading the JavaScript values the API returns, by dotted path
//! (`frames.0.maskKey`): shared by the browser tests (`#[path]`).

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// Reads a dotted path such as `frames.0.maskKey`.
pub fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, key| {
        Reflect::get(&v, &JsValue::from_str(key)).unwrap_or_else(|_| panic!("no {path}"))
    })
}

pub fn num(v: &JsValue, path: &str) -> f64 {
    get(v, path)
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number"))
}

pub fn boolean(v: &JsValue, path: &str) -> bool {
    get(v, path)
        .as_bool()
        .unwrap_or_else(|| panic!("{path} is not a bool"))
}

pub fn string(v: &JsValue, path: &str) -> String {
    get(v, path)
        .as_string()
        .unwrap_or_else(|| panic!("{path} is not a string"))
}

pub fn bytes(v: &JsValue, path: &str) -> Vec<u8> {
    get(v, path)
        .dyn_into::<Uint8Array>()
        .unwrap_or_else(|_| panic!("{path} is not a Uint8Array"))
        .to_vec()
}

pub fn len(v: &JsValue, path: &str) -> u32 {
    get(v, path).unchecked_into::<Array>().length()
}
