//! Inputs the fuzz targets (fuzz/, docs/fuzzing.md) found misread, kept as tests
//! of the public API so they stay fixed.

use opsflow_api::ApiRequest;
use opsflow_api::request::percent_decode;

/// `api_request` found `%+b` decoded as the byte 0x0b: the two characters after
/// `%` went to `u8::from_str_radix`, which accepts a leading `+` sign.
#[test]
fn a_percent_escape_needs_two_hex_digits_and_a_sign_is_not_one() {
    assert_eq!(percent_decode("01JXF2a%+b"), "01JXF2a% b");
    assert_eq!(percent_decode("%+1%-1%+"), "% 1%-1% ");
    let req = ApiRequest::new(
        "GET",
        "/api/content",
        "cursor=01JXF2a%+b&limit=20",
        vec![],
        vec![],
    );
    assert_eq!(req.query("cursor"), Some("01JXF2a% b"));
}

#[test]
fn well_formed_escapes_still_decode_in_either_case() {
    assert_eq!(percent_decode("a%2Fb%2fc%E2%82%ac+d"), "a/b/c€ d");
    assert_eq!(percent_decode("%zz%4%"), "%zz%4%");
}
