//! Automated checks against the brand standard, which is data (editable through
//! the API): banned and required terms, disclaimers per channel, length limits per
//! channel, link rules and required fields.
//!
//! Terms and disclaimers match on word boundaries, case-insensitively, Unicode-aware:
//! text and term are both split into words (maximal runs of alphanumeric characters,
//! `char::is_alphanumeric`, so `Straße`, `café` and `東京` are words) and lower-cased;
//! a term matches where its words appear consecutively. `class` does not match
//! `classic`; `Free Money` matches `free money!`. Lengths count Unicode scalar values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::campaign::Channel;
use crate::validation::ValidationErrors;

/// At most this many terms per list.
pub const MAX_TERMS: usize = 500;
/// Longest term or disclaimer, in characters.
pub const MAX_TERM_CHARS: usize = 500;

/// A field of a content item that a channel may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Title.
    Title,
    /// Body text.
    Body,
    /// Subject line (email).
    Subject,
    /// At least one link.
    Links,
    /// Due date.
    Due,
}

impl Field {
    /// The field's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
            Field::Subject => "subject",
            Field::Links => "links",
            Field::Due => "due",
        }
    }
}

/// What one channel requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRules {
    /// Longest body, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_max_chars: Option<u32>,
    /// Longest title, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_max_chars: Option<u32>,
    /// Longest subject, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_max_chars: Option<u32>,
    /// Texts the body must contain (word-boundary match).
    #[serde(default)]
    pub disclaimers: Vec<String>,
    /// Fields that must be present and non-empty.
    #[serde(default)]
    pub required_fields: Vec<Field>,
    /// Terms banned on this channel in addition to the global ones.
    #[serde(default)]
    pub banned_terms: Vec<String>,
    /// Terms required on this channel in addition to the global ones.
    #[serde(default)]
    pub required_terms: Vec<String>,
}

/// Rules for links (the `links` field and every URL in the body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRules {
    /// Links must use https.
    pub require_https: bool,
    /// Query parameters every link must carry with a non-empty value.
    pub required_utm: Vec<String>,
}

impl Default for LinkRules {
    fn default() -> Self {
        Self {
            require_https: true,
            required_utm: vec![
                "utm_source".into(),
                "utm_medium".into(),
                "utm_campaign".into(),
            ],
        }
    }
}

/// The brand standard: the data the automated checks run against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandStandard {
    /// Terms no content may contain (title, subject or body).
    pub banned_terms: Vec<String>,
    /// Terms every content item must contain somewhere (title, subject or body).
    pub required_terms: Vec<String>,
    /// Fields every item must have on every channel.
    pub required_fields: Vec<Field>,
    /// Rules for the `links` field and every URL in subject and body.
    pub links: LinkRules,
    /// Extra rules per channel slug (a channel without an entry has none).
    pub channels: BTreeMap<String, ChannelRules>,
}

impl Default for BrandStandard {
    /// SMS bodies ≤ 160, social ≤ 280, email subjects ≤ 78 and required; bodies
    /// required everywhere; https links with utm_source, utm_medium, utm_campaign.
    fn default() -> Self {
        let mut channels = BTreeMap::new();
        channels.insert(
            "sms".to_string(),
            ChannelRules {
                body_max_chars: Some(160),
                ..Default::default()
            },
        );
        for social in ["social", "paid_social"] {
            channels.insert(
                social.to_string(),
                ChannelRules {
                    body_max_chars: Some(280),
                    ..Default::default()
                },
            );
        }
        channels.insert(
            "email".to_string(),
            ChannelRules {
                subject_max_chars: Some(78),
                required_fields: vec![Field::Subject],
                ..Default::default()
            },
        );
        Self {
            banned_terms: Vec::new(),
            required_terms: Vec::new(),
            required_fields: vec![Field::Body],
            links: LinkRules::default(),
            channels,
        }
    }
}

/// A term list of the standard as sent: bounded, each term bounded and wordy.
fn validate_terms(errs: &mut ValidationErrors, field: &str, terms: &[String]) {
    if terms.len() > MAX_TERMS {
        errs.push(field, format!("must have at most {MAX_TERMS} entries"));
        return;
    }
    for (i, t) in terms.iter().enumerate() {
        if t.chars().count() > MAX_TERM_CHARS {
            errs.push(
                format!("{field}[{i}]"),
                format!("must be at most {MAX_TERM_CHARS} characters"),
            );
        } else if words(t).is_empty() {
            errs.push(
                format!("{field}[{i}]"),
                "must contain at least one letter or digit",
            );
        }
    }
}

impl BrandStandard {
    /// Checks a standard as sent (serde already rejected unknown fields and types).
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        validate_terms(&mut errs, "banned_terms", &self.banned_terms);
        validate_terms(&mut errs, "required_terms", &self.required_terms);
        if self.links.required_utm.len() > 20 {
            errs.push("links.required_utm", "must have at most 20 entries");
        }
        for (i, p) in self.links.required_utm.iter().enumerate() {
            if p.is_empty()
                || p.len() > 64
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                errs.push(
                    format!("links.required_utm[{i}]"),
                    "must be a query parameter name (A-Z, a-z, 0-9, '_', '-')",
                );
            }
        }
        if self.channels.len() > 50 {
            errs.push("channels", "must have at most 50 channels");
        }
        for (name, rules) in &self.channels {
            let f = |k: &str| format!("channels.{name}.{k}");
            if let Err(e) = Channel::parse(name) {
                errs.push(format!("channels.{name}"), format!("channel name {e}"));
            }
            validate_terms(&mut errs, &f("banned_terms"), &rules.banned_terms);
            validate_terms(&mut errs, &f("required_terms"), &rules.required_terms);
            validate_terms(&mut errs, &f("disclaimers"), &rules.disclaimers);
            for (k, v) in [
                ("body_max_chars", rules.body_max_chars),
                ("title_max_chars", rules.title_max_chars),
                ("subject_max_chars", rules.subject_max_chars),
            ] {
                if v == Some(0) {
                    errs.push(f(k), "must be at least 1");
                }
            }
        }
        errs.into_result(self)
    }

    /// The rules of `channel` (empty rules when it has none).
    pub fn rules(&self, channel: &str) -> ChannelRules {
        self.channels.get(channel).cloned().unwrap_or_default()
    }
}

/// The text of an item the checks read.
#[derive(Debug, Clone, Copy)]
pub struct CheckInput<'a> {
    /// Channel slug; selects the channel's rules.
    pub channel: &'a str,
    /// Title.
    pub title: &'a str,
    /// Body.
    pub body: &'a str,
    /// Subject, if any.
    pub subject: Option<&'a str>,
    /// Links.
    pub links: &'a [String],
    /// Whether a due date is set.
    pub has_due: bool,
}

/// The kinds of automated check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// A banned term appears.
    BannedTerm,
    /// A required term is missing.
    RequiredTerm,
    /// A channel disclaimer is missing.
    Disclaimer,
    /// A field is longer than the channel allows.
    Length,
    /// A link is not https.
    LinkHttps,
    /// A link lacks required UTM parameters.
    LinkUtm,
    /// A required field is missing.
    RequiredField,
}

/// Every check kind, in the order they run.
pub const ALL_CHECKS: [CheckKind; 7] = [
    CheckKind::RequiredField,
    CheckKind::Length,
    CheckKind::BannedTerm,
    CheckKind::RequiredTerm,
    CheckKind::Disclaimer,
    CheckKind::LinkHttps,
    CheckKind::LinkUtm,
];

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckFailure {
    /// Which check.
    pub check: CheckKind,
    /// The field it concerns (`body`, `links[1]`).
    pub field: String,
    /// What is wrong, precisely.
    pub message: String,
}

/// The outcome of running every check on one version of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// True when nothing failed.
    pub passed: bool,
    /// The content hash the checks ran on.
    pub content_hash: String,
    /// The version of the brand standard used (0 = the built-in default).
    pub standard_version: u64,
    /// The checks that ran.
    pub checks: Vec<CheckKind>,
    /// One entry per failure, in the order the checks ran; empty when `passed`.
    pub failures: Vec<CheckFailure>,
}

/// Lower-cased words of `text` (see the module docs).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether `term` occurs in `haystack` (both as word lists) on word boundaries.
fn contains_words(haystack: &[String], term: &[String]) -> bool {
    !term.is_empty() && haystack.windows(term.len()).any(|w| w == term)
}

/// Every URL in `text`: runs starting `http://` or `https://` (any case) up to
/// whitespace or `<>"'`, with trailing punctuation dropped.
pub fn urls_in(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lower.len() {
        let rest = &lower[i..];
        let start = match (rest.find("http://"), rest.find("https://")) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        let from = i + start;
        let end = text[from..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
            .map_or(text.len(), |e| from + e);
        let url = text[from..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
        out.push(url.to_string());
        i = end.max(from + 1);
        while i < text.len() && !text.is_char_boundary(i) {
            i += 1;
        }
    }
    out
}

/// The query parameters of `url` with non-empty values.
fn query_params(url: &str) -> Vec<String> {
    let no_frag = url.split('#').next().unwrap_or("");
    let Some((_, query)) = no_frag.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            (!v.is_empty()).then(|| k.to_string())
        })
        .collect()
}

fn quote(s: &str) -> String {
    let short: String = s.chars().take(120).collect();
    if short.len() < s.len() {
        format!("\"{short}…\"")
    } else {
        format!("\"{short}\"")
    }
}

/// The failures found so far, in the order the checks run.
#[derive(Default)]
struct Failures(Vec<CheckFailure>);

impl Failures {
    fn fail(&mut self, check: CheckKind, field: &str, message: String) {
        self.0.push(CheckFailure {
            check,
            field: field.to_string(),
            message,
        });
    }
}

/// Runs every check of `standard` on `item`. Failures are listed check by check:
/// required fields, lengths, banned and required terms, disclaimers, then links.
pub fn run_checks(
    standard: &BrandStandard,
    standard_version: u64,
    item: CheckInput<'_>,
    content_hash: &str,
) -> CheckReport {
    let rules = standard.rules(item.channel);
    let mut failures = Failures::default();
    check_required_fields(standard, &rules, &item, &mut failures);
    check_lengths(&rules, &item, &mut failures);
    check_terms(standard, &rules, &item, &mut failures);
    check_disclaimers(&rules, &item, &mut failures);
    check_links(&standard.links, &item, &mut failures);
    let failures = failures.0;
    CheckReport {
        passed: failures.is_empty(),
        content_hash: content_hash.to_string(),
        standard_version,
        checks: ALL_CHECKS.to_vec(),
        failures,
    }
}

/// Fields the standard or the channel requires must be present and non-blank.
fn check_required_fields(
    standard: &BrandStandard,
    rules: &ChannelRules,
    item: &CheckInput<'_>,
    out: &mut Failures,
) {
    let mut required: Vec<Field> = standard.required_fields.clone();
    required.extend(rules.required_fields.iter().copied());
    crate::sort::sort(&mut required);
    required.dedup();
    for f in required {
        let present = match f {
            Field::Title => !item.title.trim().is_empty(),
            Field::Body => !item.body.trim().is_empty(),
            Field::Subject => item.subject.is_some_and(|s| !s.trim().is_empty()),
            Field::Links => !item.links.is_empty(),
            Field::Due => item.has_due,
        };
        if !present {
            out.fail(
                CheckKind::RequiredField,
                f.as_str(),
                format!("{} is required on the {} channel", f.as_str(), item.channel),
            );
        }
    }
}

/// Title, subject and body within the channel's character limits.
fn check_lengths(rules: &ChannelRules, item: &CheckInput<'_>, out: &mut Failures) {
    let channel = item.channel;
    for (field, text, limit) in [
        ("title", Some(item.title), rules.title_max_chars),
        ("subject", item.subject, rules.subject_max_chars),
        ("body", Some(item.body), rules.body_max_chars),
    ] {
        if let (Some(text), Some(limit)) = (text, limit) {
            let n = text.chars().count();
            if n > limit as usize {
                out.fail(
                    CheckKind::Length,
                    field,
                    format!(
                        "{field} is {n} characters; the {channel} limit is {limit} ({} over)",
                        n - limit as usize
                    ),
                );
            }
        }
    }
}

/// No banned term in title, subject or body; every required term in one of them.
fn check_terms(
    standard: &BrandStandard,
    rules: &ChannelRules,
    item: &CheckInput<'_>,
    out: &mut Failures,
) {
    let texts: Vec<(&str, Vec<String>)> = [
        ("title", Some(item.title)),
        ("subject", item.subject),
        ("body", Some(item.body)),
    ]
    .into_iter()
    .filter_map(|(f, t)| t.map(|t| (f, words(t))))
    .collect();
    for term in standard.banned_terms.iter().chain(&rules.banned_terms) {
        let tw = words(term);
        for (field, w) in &texts {
            if contains_words(w, &tw) {
                out.fail(
                    CheckKind::BannedTerm,
                    field,
                    format!("{field} contains the banned term {}", quote(term)),
                );
            }
        }
    }
    for term in standard.required_terms.iter().chain(&rules.required_terms) {
        let tw = words(term);
        if !texts.iter().any(|(_, w)| contains_words(w, &tw)) {
            out.fail(
                CheckKind::RequiredTerm,
                "body",
                format!(
                    "the required term {} appears in none of title, subject, body",
                    quote(term)
                ),
            );
        }
    }
}

/// Every disclaimer of the channel in the body.
fn check_disclaimers(rules: &ChannelRules, item: &CheckInput<'_>, out: &mut Failures) {
    let body_words = words(item.body);
    for d in &rules.disclaimers {
        if !contains_words(&body_words, &words(d)) {
            out.fail(
                CheckKind::Disclaimer,
                "body",
                format!(
                    "the {} disclaimer {} is missing from the body",
                    item.channel,
                    quote(d)
                ),
            );
        }
    }
}

/// The `links` field and every URL in subject and body: https when required,
/// and carrying every required UTM parameter.
fn check_links(link_rules: &LinkRules, item: &CheckInput<'_>, out: &mut Failures) {
    let mut links: Vec<(String, String)> = item
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("links[{i}]"), l.clone()))
        .collect();
    for (field, text) in [("subject", item.subject), ("body", Some(item.body))] {
        for u in text.map(urls_in).unwrap_or_default() {
            links.push((field.to_string(), u));
        }
    }
    for (field, url) in &links {
        let lower = url.to_ascii_lowercase();
        if link_rules.require_https && !lower.starts_with("https://") {
            out.fail(
                CheckKind::LinkHttps,
                field,
                format!("link {} must use https", quote(url)),
            );
        }
        let params = query_params(url);
        let missing: Vec<&str> = link_rules
            .required_utm
            .iter()
            .filter(|p| !params.contains(p))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            out.fail(
                CheckKind::LinkUtm,
                field,
                format!(
                    "link {} lacks the UTM parameter(s) {}",
                    quote(url),
                    missing.join(", ")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(channel: &'a str, body: &'a str, links: &'a [String]) -> CheckInput<'a> {
        CheckInput {
            channel,
            title: "Spring sale",
            body,
            subject: None,
            links,
            has_due: false,
        }
    }

    fn kinds(r: &CheckReport) -> Vec<CheckKind> {
        r.failures.iter().map(|f| f.check).collect()
    }

    #[test]
    fn words_are_unicode_aware_and_lowercased() {
        assert_eq!(
            words("Straße, CAFÉ-Öl 東京!"),
            ["straße", "café", "öl", "東京"]
        );
        let hay = words("A classic offer");
        assert!(!contains_words(&hay, &words("class")));
        assert!(contains_words(&hay, &words("CLASSIC offer")));
    }

    #[test]
    fn banned_terms_match_on_word_boundaries_only() {
        let std = BrandStandard {
            banned_terms: vec!["guaranteed".into(), "Free money".into()],
            ..Default::default()
        };
        let ok = run_checks(&std, 0, input("web", "Unguaranteed results", &[]), "h");
        assert!(ok.passed, "{:?}", ok.failures);
        let bad = run_checks(
            &std,
            0,
            input("web", "GUARANTEED wins and free   money!", &[]),
            "h",
        );
        assert_eq!(kinds(&bad), [CheckKind::BannedTerm, CheckKind::BannedTerm]);
        assert_eq!(
            bad.failures[0].message,
            "body contains the banned term \"guaranteed\""
        );
    }

    #[test]
    fn lengths_disclaimers_and_required_fields_per_channel() {
        let mut std = BrandStandard::default();
        std.channels.entry("sms".into()).or_default().disclaimers =
            vec!["Reply STOP to opt out".into()];
        let long = "x".repeat(161);
        let r = run_checks(&std, 0, input("sms", &long, &[]), "h");
        assert_eq!(kinds(&r), [CheckKind::Length, CheckKind::Disclaimer]);
        assert_eq!(
            r.failures[0].message,
            "body is 161 characters; the sms limit is 160 (1 over)"
        );
        let r = run_checks(&std, 0, input("sms", "Hi! reply stop to opt-out", &[]), "h");
        assert!(r.passed, "{:?}", r.failures);
        let r = run_checks(&std, 0, input("email", "Body", &[]), "h");
        assert_eq!(
            r.failures[0].message,
            "subject is required on the email channel"
        );
        let emoji = "é".repeat(160);
        assert!(
            run_checks(&std, 0, input("sms", &emoji, &[]), "h")
                .failures
                .len()
                == 1
        );
    }

    #[test]
    fn links_need_https_and_utm_parameters() {
        let std = BrandStandard::default();
        let links = vec![
            "https://acme.test/a?utm_source=x&utm_medium=y&utm_campaign=z".to_string(),
            "http://acme.test/b?utm_source=x&utm_medium=&utm_campaign=z".to_string(),
        ];
        let r = run_checks(
            &std,
            0,
            input("web", "See https://acme.test/c.", &links),
            "h",
        );
        assert_eq!(
            kinds(&r),
            [CheckKind::LinkHttps, CheckKind::LinkUtm, CheckKind::LinkUtm]
        );
        assert_eq!(r.failures[0].field, "links[1]");
        assert_eq!(
            r.failures[1].message,
            "link \"http://acme.test/b?utm_source=x&utm_medium=&utm_campaign=z\" lacks the UTM parameter(s) utm_medium"
        );
        assert_eq!(r.failures[2].field, "body");
        assert_eq!(urls_in("x HTTPS://a.b/ü, y"), ["HTTPS://a.b/ü"]);
    }

    #[test]
    fn required_terms_and_standard_validation() {
        let std = BrandStandard {
            required_terms: vec!["Acme".into()],
            ..Default::default()
        };
        assert!(!run_checks(&std, 0, input("web", "Acmeco", &[]), "h").passed);
        assert!(run_checks(&std, 0, input("web", "By acme.", &[]), "h").passed);
        let bad = BrandStandard {
            banned_terms: vec!["!!".into()],
            ..Default::default()
        };
        assert_eq!(
            bad.validate().unwrap_err().errors[0].field,
            "banned_terms[0]"
        );
    }
}
