//! CSV exports (issue 14): the one writer every component's `text/csv` answer goes
//! through, and the negotiation that picks it.
//!
//! What stays true (docs/decisions.md, "Exports"):
//! - RFC 4180: a header row of fixed snake_case column names, CRLF line ends, a
//!   field holding `,` `"` CR or LF is quoted with its quotes doubled. The quoting
//!   is `csv-core`'s (QuoteStyle::Necessary), not ours.
//! - No formula injection (OWASP "CSV Injection"): a text cell that begins with
//!   `=` `+` `-` `@`, tab or CR gets a leading `'`, so a spreadsheet shows it as
//!   text. Numbers this API computes ([`Cell::Number`]) are written
//!   as numbers, a negative one with its `-`: they are ours, not a user's text,
//!   and a spreadsheet must be able to sum them. Text that merely looks like a
//!   number (a name "-5") is text and is neutralised.
//! - JSON stays the default: CSV is chosen by `format=csv`, or by `Accept` listing
//!   `text/csv` without ranking `application/json` higher. A `format` other than
//!   `json`/`csv` is a 400; an `Accept` that names neither is answered in JSON
//!   (RFC 9110 §12.5.1 lets a server disregard it), never a 406.

use crate::{ApiRequest, ApiResponse, Problem};

/// The representation a list or report is answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`, the default.
    Json,
    /// `text/csv; charset=utf-8`.
    Csv,
}

/// The media type of CSV answers.
pub const CSV_MEDIA_TYPE: &str = "text/csv; charset=utf-8";

/// The format `req` asks for: its `format` query parameter (400 unless `json` or
/// `csv`), else its `Accept` header.
pub fn format(req: &ApiRequest) -> Result<Format, Problem> {
    match req.query("format") {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(Problem::bad_request("format must be json or csv")),
        None => Ok(match req.header("accept") {
            Some(accept) if accept_prefers_csv(accept) => Format::Csv,
            _ => Format::Json,
        }),
    }
}

/// Whether an `Accept` value lists `text/csv` (q > 0) and does not give
/// `application/json` a higher q. Wildcards select nothing: JSON stays the answer
/// for `*/*`.
fn accept_prefers_csv(accept: &str) -> bool {
    let quality = |wanted: &str| -> Option<u16> {
        accept.split(',').find_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim();
            if !media.eq_ignore_ascii_case(wanted) {
                return None;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| thousandths(q.trim()))
                .unwrap_or(1000);
            Some(q)
        })
    };
    match (quality("text/csv"), quality("application/json")) {
        (Some(csv), json) => csv > 0 && json.is_none_or(|j| csv >= j),
        (None, _) => false,
    }
}

/// An RFC 9110 qvalue (`0`, `0.5`, `1.000`) in thousandths; `None` when malformed.
/// By hand, not `str::parse::<f32>`, which would add a float parser to every
/// component for one header.
fn thousandths(q: &str) -> Option<u16> {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// One field of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing (an absent optional value).
    Empty,
    /// Text, neutralised against formula injection when written.
    Text(String),
    /// A number the API computed, already formatted (see `From<i64>`, `From<f64>`):
    /// written as is, never neutralised.
    Number(String),
    /// `true` / `false`.
    Bool(bool),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Number(n.to_string())
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Number(n.to_string())
    }
}

impl From<u32> for Cell {
    fn from(n: u32) -> Self {
        Cell::Number(n.to_string())
    }
}

/// As JSON writes it (shortest round-trip digits, `1.5`, `3.0`, `1e21`), through
/// serde_json's formatter the components already carry; non-finite: empty.
impl From<f64> for Cell {
    fn from(n: f64) -> Self {
        serde_json::Number::from_f64(n).map_or(Cell::Empty, |n| Cell::Number(n.to_string()))
    }
}

impl From<bool> for Cell {
    fn from(b: bool) -> Self {
        Cell::Bool(b)
    }
}

/// The text of a cell as it goes into the file: text neutralised, numbers plain.
fn cell_text(cell: &Cell) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match cell {
        Cell::Empty => Cow::Borrowed(""),
        Cell::Text(s) => neutralise(s),
        Cell::Number(n) => Cow::Borrowed(n),
        Cell::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
    }
}

/// A text cell a spreadsheet would read as a formula, prefixed with `'`.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// A CSV document being written: the header first, then rows of as many cells.
pub struct Csv {
    out: Vec<u8>,
    writer: csv_core::Writer,
    columns: usize,
}

impl Csv {
    /// A document whose first row names `columns`.
    pub fn new(columns: &[&str]) -> Self {
        let writer = csv_core::WriterBuilder::new()
            .terminator(csv_core::Terminator::CRLF)
            .quote_style(csv_core::QuoteStyle::Necessary)
            .build();
        let mut csv = Self {
            out: Vec::new(),
            writer,
            columns: columns.len(),
        };
        // Column names are ours (snake_case): written as they are, no neutralising.
        csv.record(columns.iter().copied());
        csv
    }

    /// Appends a row. A short row is padded with empty cells and a long one cut,
    /// so every record has the header's width (RFC 4180 §2.4).
    pub fn row(&mut self, cells: &[Cell]) {
        let texts: Vec<_> = cells.iter().take(self.columns).map(cell_text).collect();
        let pad = self.columns.saturating_sub(texts.len());
        let fields = texts.iter().map(|t| t.as_ref()).chain((0..pad).map(|_| ""));
        self.record(fields);
    }

    fn record<'s>(&mut self, fields: impl Iterator<Item = &'s str>) {
        let mut buf = [0u8; 256];
        for (i, field) in fields.enumerate() {
            if i > 0 {
                self.drain(&mut buf, |w, out| w.delimiter(out));
            }
            let mut input = field.as_bytes();
            loop {
                let (res, read, written) = self.writer.field(input, &mut buf);
                self.out.extend_from_slice(&buf[..written]);
                input = &input[read..];
                if res == csv_core::WriteResult::InputEmpty {
                    break;
                }
            }
        }
        self.drain(&mut buf, |w, out| w.terminator(out));
    }

    /// Runs one of the writer's fixed-output steps until it fits in `buf`.
    fn drain(
        &mut self,
        buf: &mut [u8],
        mut step: impl FnMut(&mut csv_core::Writer, &mut [u8]) -> (csv_core::WriteResult, usize),
    ) {
        loop {
            let (res, written) = step(&mut self.writer, buf);
            self.out.extend_from_slice(&buf[..written]);
            if res == csv_core::WriteResult::InputEmpty {
                break;
            }
        }
    }

    /// The document's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    /// A 200 answer with this document as an attachment named `filename` (which
    /// must be plain ASCII without quotes: the callers build it from ids).
    pub fn into_response(self, filename: &str) -> ApiResponse {
        ApiResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), CSV_MEDIA_TYPE.into()),
                (
                    "content-disposition".into(),
                    format!("attachment; filename=\"{filename}\""),
                ),
                ("vary".into(), "accept".into()),
            ],
            body: self.out,
        }
    }
}

/// A JSON answer of an endpoint that also speaks CSV: the same, with `Vary: Accept`.
pub fn json_varying(resp: ApiResponse) -> ApiResponse {
    resp.with_header("vary", "accept")
}

/// `Link: <path?query>; rel="next"` for a CSV page: the request's own query with
/// `param` set to `value` (the page's cursor), so a client walks the pages in CSV.
pub fn next_link(req: &ApiRequest, param: &str, value: &str) -> String {
    let mut query: Vec<&str> = req
        .raw_query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(param))
        .collect();
    let value: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let next = format!("{param}={value}");
    query.push(&next);
    format!("<{}?{}>; rel=\"next\"", req.path, query.join("&"))
}

/// The CSV columns of every audit log (campaign, content item, resource): the
/// entry's sequence number, RFC 3339 time, actor, action and its detail as
/// compact JSON text.
pub const AUDIT_COLUMNS: &[&str] = &["seq", "at", "actor", "action", "detail"];

/// One page of an audit log as a CSV attachment named `filename`; `next` (the
/// page's cursor, under the query parameter `param`) becomes a `Link` header.
pub fn audit_csv(
    req: &ApiRequest,
    entries: &[opsflow_store::AuditEntry],
    next: Option<(&str, &str)>,
    filename: &str,
) -> ApiResponse {
    let mut csv = Csv::new(AUDIT_COLUMNS);
    for e in entries {
        csv.row(&[
            e.seq.into(),
            e.at.as_str().into(),
            e.actor.as_str().into(),
            e.action.as_str().into(),
            // Through `to_vec`, the serialiser every JSON answer already uses.
            String::from_utf8(serde_json::to_vec(&e.detail).unwrap_or_default())
                .unwrap_or_default()
                .into(),
        ]);
    }
    let resp = csv.into_response(filename);
    match next {
        Some((param, cursor)) => resp.with_header("link", next_link(req, param, cursor)),
        None => resp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: &str, accept: Option<&str>) -> ApiRequest {
        let headers = accept
            .map(|a| vec![("accept".to_string(), a.to_string())])
            .unwrap_or_default();
        ApiRequest::new("GET", "/api/x", query, headers, Vec::new())
    }

    #[test]
    fn json_is_the_default_and_csv_is_asked_for_by_parameter_or_accept() {
        assert_eq!(format(&req("", None)).ok(), Some(Format::Json));
        assert_eq!(format(&req("format=csv", None)).ok(), Some(Format::Csv));
        assert_eq!(
            format(&req("format=json", Some("text/csv"))).ok(),
            Some(Format::Json)
        );
        assert_eq!(format(&req("", Some("text/csv"))).ok(), Some(Format::Csv));
        assert_eq!(
            format(&req("", Some("application/json, text/csv;q=0.5"))).ok(),
            Some(Format::Json)
        );
        assert_eq!(
            format(&req("", Some("text/csv, */*"))).ok(),
            Some(Format::Csv)
        );
        assert_eq!(format(&req("", Some("*/*"))).ok(), Some(Format::Json));
        assert_eq!(
            format(&req("", Some("text/csv;q=0"))).ok(),
            Some(Format::Json)
        );
        assert_eq!(format(&req("", Some("image/png"))).ok(), Some(Format::Json));
        assert!(format(&req("format=xlsx", None)).is_err_and(|p| p.status == 400));
        assert_eq!(
            format(&req("", Some("text/csv;q=0.9, application/json;q=0.95"))).ok(),
            Some(Format::Json)
        );
        assert_eq!(thousandths("0.5"), Some(500));
        assert_eq!(thousandths("1.000"), Some(1000));
        assert_eq!(thousandths("1.5"), None);
        assert_eq!(thousandths("0.1234"), None);
    }

    #[test]
    fn quoting_is_rfc_4180_with_crlf_and_doubled_quotes() {
        let mut csv = Csv::new(&["name", "n"]);
        csv.row(&["a,b".into(), (-3i64).into()]);
        csv.row(&["say \"hi\"\nthere".into(), 1.5f64.into()]);
        csv.row(&["short".into()]);
        let text = String::from_utf8(csv.into_bytes()).expect("utf-8");
        assert_eq!(
            text,
            "name,n\r\n\"a,b\",-3\r\n\"say \"\"hi\"\"\nthere\",1.5\r\nshort,\r\n"
        );
    }

    #[test]
    fn text_that_a_spreadsheet_would_run_is_neutralised_and_numbers_are_not() {
        for (given, written) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-5", "'-5"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(cell_text(&Cell::from(given)), written, "{given:?}");
        }
        assert_eq!(cell_text(&Cell::from(-5i64)), "-5");
        assert_eq!(cell_text(&Cell::from(-0.5f64)), "-0.5");
        assert_eq!(cell_text(&Cell::from(f64::NAN)), "");
    }

    #[test]
    fn the_next_link_keeps_the_query_and_replaces_the_cursor() {
        let r = req("format=csv&cursor=3&limit=2", None);
        assert_eq!(
            next_link(&r, "cursor", "9"),
            "</api/x?format=csv&limit=2&cursor=9>; rel=\"next\""
        );
        // A cursor with reserved characters comes back as it was sent.
        let link = next_link(&r, "cursor", "a&b=c d/é");
        let query = link
            .trim_start_matches("</api/x?")
            .trim_end_matches(">; rel=\"next\"");
        assert_eq!(
            req(query, None).query("cursor"),
            Some("a&b=c d/é"),
            "{link}"
        );
    }
}
