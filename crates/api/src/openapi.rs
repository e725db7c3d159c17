//! One OpenAPI 3.1 document for the app, assembled from per-area fragments
//! (`docs/openapi/*.json`): each fragment contributes `paths` and components
//! (schemas, responses, parameters, headers); the base carries `info`, security
//! and the shared components every fragment refers to.

use serde_json::{Map, Value};

/// The sections a fragment may add entries to.
const SECTIONS: [&str; 5] = [
    "paths",
    "components/schemas",
    "components/responses",
    "components/parameters",
    "components/headers",
];

/// Merges `base` with `fragments` (later fragments may not redefine a path or component).
pub fn merge(base: &str, fragments: &[&str]) -> Result<Value, String> {
    let mut doc: Value = serde_json::from_str(base).map_err(|e| format!("base: {e}"))?;
    for (i, f) in fragments.iter().enumerate() {
        let frag: Value = serde_json::from_str(f).map_err(|e| format!("fragment {i}: {e}"))?;
        for section in SECTIONS {
            let Some(src) = pointer(&frag, section).and_then(Value::as_object) else {
                continue;
            };
            let dst = pointer_mut(&mut doc, section);
            for (k, v) in src {
                if dst.insert(k.clone(), v.clone()).is_some() {
                    return Err(format!("fragment {i}: {section} '{k}' defined twice"));
                }
            }
        }
    }
    Ok(doc)
}

fn pointer<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/').try_fold(v, |v, k| v.get(k))
}

fn pointer_mut<'a>(v: &'a mut Value, path: &str) -> &'a mut Map<String, Value> {
    let mut cur = v;
    for k in path.split('/') {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        cur = match cur {
            Value::Object(m) => m
                .entry(k.to_string())
                .or_insert_with(|| Value::Object(Map::new())),
            _ => unreachable_object(),
        };
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    match cur {
        Value::Object(m) => m,
        _ => unreachable_object(),
    }
}

#[allow(clippy::panic)]
fn unreachable_object() -> ! {
    // Both call sites replace non-objects with objects just before matching.
    panic!("openapi merge: value was just made an object")
}

/// Every `(METHOD, path)` the document declares.
pub fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for method in item.keys() {
                    if ["get", "put", "post", "delete", "patch", "head", "options"]
                        .contains(&method.as_str())
                    {
                        out.push((method.to_ascii_uppercase(), path.clone()));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_paths_and_schemas_and_refuses_redefinition() {
        let base = r#"{"openapi":"3.1.0","paths":{},"components":{"schemas":{"Problem":{}}}}"#;
        let a = r#"{"paths":{"/a":{"get":{}}},"components":{"schemas":{"A":{}}}}"#;
        let b = r#"{"paths":{"/b":{"post":{},"get":{}}}}"#;
        let doc = merge(base, &[a, b]).expect("merges");
        assert_eq!(
            operations(&doc),
            vec![
                ("GET".into(), "/a".into()),
                ("GET".into(), "/b".into()),
                ("POST".into(), "/b".into())
            ]
        );
        assert!(doc["components"]["schemas"]["A"].is_object());
        assert!(merge(base, &[a, a]).is_err());
    }
}
