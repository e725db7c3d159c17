//! A request as a component sees it, parsed once at the edge.

use crate::problem::Problem;
use serde::de::DeserializeOwned;

/// A field's path as problem documents name fields: `channels[1].budget_minor`.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            prefix if prefix.is_empty() => key.clone(),
            prefix => format!("{prefix}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// Default body limit for JSON APIs.
pub const MAX_JSON_BODY: usize = 256 * 1024;

/// Method, path, query, headers and the raw body.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    /// Upper-case method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string (without `?`).
    pub raw_query: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// Raw body bytes.
    pub body: Vec<u8>,
}

impl ApiRequest {
    /// Builds a request; `query` is the raw query string.
    pub fn new(
        method: &str,
        path: &str,
        query: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Self {
        let pairs = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Self {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            raw_query: query.to_string(),
            query: pairs,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            body,
        }
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses the JSON body into `T`, refusing any field `T` does not know (400) —
    /// whatever `T`'s serde attributes say, so stored record types can tolerate
    /// fields a newer build wrote while the API stays strict.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        self.json_limited(MAX_JSON_BODY)
    }

    /// Like [`ApiRequest::json`] with an explicit size limit.
    pub fn json_limited<T: DeserializeOwned>(&self, limit: usize) -> Result<T, Problem> {
        if self.body.len() > limit {
            return Err(Problem::too_large(limit));
        }
        match self.header("content-type") {
            Some(ct)
                if ct
                    .split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")) => {}
            _ => {
                return Err(Problem::unsupported_media_type(
                    "Content-Type: application/json",
                ));
            }
        }
        let invalid =
            |e: serde_json::Error| Problem::bad_request(format!("invalid JSON body: {e}"));
        let mut json: serde_json::Value = serde_json::from_slice(&self.body).map_err(invalid)?;
        integral_floats_as_integers(&mut json);
        let mut unknown: Option<String> = None;
        // A trait object, not a closure: serde_ignored's wrappers are generic over
        // the callback, and a closure here would be a new type per `T`, compiling
        // every nested type's deserializer again for each body type that holds it.
        let on_unknown: &mut dyn FnMut(serde_ignored::Path<'_>) = &mut |path| {
            unknown.get_or_insert_with(|| field_path(&path));
        };
        let value = serde_ignored::deserialize(json, on_unknown).map_err(invalid)?;
        match unknown {
            Some(field) => Err(Problem::bad_request(format!(
                "invalid JSON body: unknown field `{field}`"
            ))),
            None => Ok(value),
        }
    }

    /// The version named by `If-Match` (`"<n>"` or `W/"<n>"`, as the API's ETags are
    /// written), if sent. Anything else, `*` included, is refused: an update must
    /// name the version it was based on for the lost-update check to mean anything.
    pub fn if_match(&self) -> Result<Option<u64>, Problem> {
        let Some(value) = self.header("if-match") else {
            return Ok(None);
        };
        let tag = value.strip_prefix("W/").unwrap_or(value);
        tag.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .filter(|n| (1..=19).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                Problem::bad_request(
                    "If-Match must be an ETag this API returned: \"<version>\" or W/\"<version>\"",
                )
            })
    }

    /// `If-Match` required for a mutation.
    pub fn require_if_match(&self) -> Result<u64, Problem> {
        self.if_match()?.ok_or_else(Problem::precondition_required)
    }

    /// The `Idempotency-Key` header, checked for a sane shape.
    pub fn idempotency_key(&self) -> Result<Option<&str>, Problem> {
        match self.header("idempotency-key") {
            None => Ok(None),
            Some(k)
                if !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Ok(Some(k))
            }
            Some(_) => Err(Problem::bad_request(
                "Idempotency-Key must be 1-128 printable ASCII characters",
            )),
        }
    }
}

/// JSON has one number type: `3.0` is the integer 3 to JSON and to JSON Schema's
/// `integer`, so an integer field must take it (serde alone refuses a float for an
/// integer type). Numbers with a fraction, or outside i64, stay as they are.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // Open at both ends: an integer literal below i64::MIN is read as
                // a float that rounds to exactly -2^63, and must not become i64::MIN.
                const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
                if f.fract() == 0.0 && f > -TWO_POW_63 && f < TWO_POW_63 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// Decodes `%XX` and `+` in a query component; invalid escapes are kept as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            // Two hex digits exactly: `from_str_radix` alone would take `%+b` as 0x0b.
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                out.push((hex_value(bytes[i + 1]) << 4) | hex_value(bytes[i + 2]));
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of an ASCII hex digit (0 for anything else).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], body: &str) -> ApiRequest {
        ApiRequest::new(
            "post",
            "/x",
            "a=1&b=hello%20world&c=%zz&d",
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body.as_bytes().to_vec(),
        )
    }

    #[test]
    fn an_integral_float_is_an_integer_and_a_fraction_is_not() {
        #[derive(Debug, serde::Deserialize)]
        struct Counts {
            n: u32,
            at: i64,
            ratio: f64,
        }
        let json = [("content-type", "application/json")];
        let ok: Counts = req(&json, r#"{"n":54.0,"at":-7.0e2,"ratio":3}"#)
            .json()
            .expect("integral floats are integers");
        assert_eq!((ok.n, ok.at, ok.ratio), (54, -700, 3.0));
        let fraction = req(&json, r#"{"n":1.5,"at":1,"ratio":1}"#).json::<Counts>();
        assert!(fraction.is_err_and(|p| p.status == 400));
        let huge = req(&json, r#"{"n":1,"at":1e19,"ratio":1}"#).json::<Counts>();
        assert!(huge.is_err_and(|p| p.status == 400));
        let below_min =
            req(&json, r#"{"n":1,"at":-9223372036854775809,"ratio":1}"#).json::<Counts>();
        assert!(
            below_min.is_err_and(|p| p.status == 400),
            "not rounded to i64::MIN"
        );
    }

    #[test]
    fn if_match_takes_exactly_the_etags_the_api_writes() {
        let version = |v: &str| req(&[("if-match", v)], "").if_match();
        assert_eq!(version("\"7\"").ok(), Some(Some(7)));
        assert_eq!(version("W/\"12\"").ok(), Some(Some(12)));
        assert_eq!(
            version("\"9999999999999999999\"").ok(),
            Some(Some(9_999_999_999_999_999_999))
        );
        for refused in [
            "*",
            "7",
            "\"7",
            "7\"",
            "\"\"",
            "\"-1\"",
            "\"+1\"",
            "w/\"1\"",
            " \"1\"",
            "\"12345678901234567890\"",
        ] {
            assert!(
                version(refused).is_err_and(|p| p.status == 400),
                "{refused}"
            );
        }
        assert_eq!(req(&[], "").if_match().ok(), Some(None));
    }

    /// A type that, like a stored record, does not deny unknown fields itself.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Tolerant {
        name: String,
        #[serde(default)]
        channels: Vec<Channel>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Channel {
        id: String,
    }

    #[test]
    fn the_api_refuses_fields_the_type_would_tolerate_and_names_them() {
        let json = [("content-type", "application/json")];
        let ok: Tolerant = req(&json, r#"{"name":"a","channels":[{"id":"x"}]}"#)
            .json()
            .expect("known fields pass");
        assert_eq!(ok.name, "a");
        let top = req(&json, r#"{"name":"a","nmae":"b"}"#).json::<Tolerant>();
        assert!(top.is_err_and(|p| p.status == 400 && p.detail.contains("unknown field `nmae`")));
        let nested = req(
            &json,
            r#"{"name":"a","channels":[{"id":"x"},{"id":"y","w":1}]}"#,
        )
        .json::<Tolerant>();
        assert!(nested.is_err_and(|p| p.detail.contains("unknown field `channels[1].w`")));
        let trailing = req(&json, r#"{"name":"a"} x"#).json::<Tolerant>();
        assert!(trailing.is_err_and(|p| p.status == 400));
    }

    #[test]
    fn query_and_headers_are_decoded() {
        let r = req(&[("Content-Type", "application/json")], "{}");
        assert_eq!(r.method, "POST");
        assert_eq!(r.query("b"), Some("hello world"));
        assert_eq!(r.query("c"), Some("%zz"));
        assert_eq!(r.query("d"), Some(""));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn json_checks_media_type_size_and_syntax() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct T {
            #[allow(dead_code)]
            a: u8,
        }
        let ok = req(
            &[("content-type", "application/json; charset=utf-8")],
            r#"{"a":1}"#,
        );
        assert!(ok.json::<T>().is_ok());
        assert_eq!(req(&[], r#"{"a":1}"#).json::<T>().unwrap_err().status, 415);
        let unknown = req(&[("content-type", "application/json")], r#"{"a":1,"b":2}"#);
        assert_eq!(unknown.json::<T>().unwrap_err().status, 400);
        let big = req(
            &[("content-type", "application/json")],
            &" ".repeat(MAX_JSON_BODY + 1),
        );
        assert_eq!(big.json::<T>().unwrap_err().status, 413);
    }

    #[test]
    fn if_match_and_idempotency_keys() {
        assert_eq!(
            req(&[("if-match", "\"7\"")], "").if_match().expect("ok"),
            Some(7)
        );
        assert_eq!(
            req(&[("if-match", "W/\"7\"")], "").if_match().expect("ok"),
            Some(7)
        );
        assert_eq!(
            req(&[("if-match", "x")], "").if_match().unwrap_err().status,
            400
        );
        assert_eq!(req(&[], "").require_if_match().unwrap_err().status, 428);
        assert!(
            req(&[("idempotency-key", "abc-1")], "")
                .idempotency_key()
                .is_ok()
        );
        assert!(
            req(&[("idempotency-key", "a b")], "")
                .idempotency_key()
                .is_err()
        );
    }
}
