//! What authors send: the create and patch bodies, the rules each field must meet,
//! and how a parsed body makes a draft ([`ContentItem::create`]) or edits an item
//! ([`ContentItem::apply_patch`], which re-opens review when the judged content
//! changes). Every field error is collected before anything changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::ContentState;
use super::checks::CheckReport;
use super::effects::{Changed, ContentError};
use super::item::{ContentItem, Standard};
use super::workflow::Workflow;
use crate::campaign::{Channel, parse_instant};
use crate::validation::{ParseError, ValidationErrors};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest body, in characters.
pub const MAX_BODY: usize = 50_000;
/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 500;
/// At most this many links.
pub const MAX_LINKS: usize = 50;
/// Longest link, in bytes.
pub const MAX_LINK: usize = 2048;

/// `POST /api/content` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContent {
    /// Required: campaign id.
    pub campaign_id: Option<String>,
    /// Required: channel slug (one of the campaign's channels when it lists any).
    pub channel: Option<String>,
    /// Required: 1..=200 characters.
    pub title: Option<String>,
    /// Body text (required by the checks on submit).
    pub body: Option<String>,
    /// Subject line, up to 500 characters (the email channel requires one).
    pub subject: Option<String>,
    /// Absolute http(s) URLs the item points to, at most 50.
    #[serde(default)]
    pub links: Vec<String>,
    /// RFC 3339 due date.
    pub due: Option<String>,
}

fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /api/content/{id}` body: present fields replace; `null` clears
/// `subject` and `due`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentPatch {
    /// Replaces the title (same rules as on create).
    pub title: Option<String>,
    /// Replaces the body (same rules as on create).
    pub body: Option<String>,
    /// New subject (`null` clears).
    #[serde(default, deserialize_with = "double")]
    pub subject: Option<Option<String>>,
    /// New links (replace all).
    pub links: Option<Vec<String>>,
    /// New due date (`null` clears).
    #[serde(default, deserialize_with = "double")]
    pub due: Option<Option<String>>,
}

/// Text of at most `max` characters; blank only when `allow_empty`.
pub(super) fn text(raw: &str, max: usize, allow_empty: bool) -> Result<String, ParseError> {
    if !allow_empty && raw.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    if raw.chars().count() > max {
        return Err(ParseError::TooLong {
            max,
            unit: "characters",
        });
    }
    Ok(raw.to_string())
}

fn title(raw: &str) -> Result<String, ParseError> {
    let t = text(raw.trim(), MAX_TITLE, false)?;
    if t.chars().any(char::is_control) {
        return Err(ParseError::Format("must not contain control characters"));
    }
    Ok(t)
}

fn body(raw: &str) -> Result<String, ParseError> {
    let b = text(raw, MAX_BODY, true)?;
    if b.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ParseError::Format(
            "must not contain control characters other than newlines and tabs",
        ));
    }
    Ok(b)
}

fn subject(raw: &str) -> Result<String, ParseError> {
    let s = text(raw, MAX_SUBJECT, false)?;
    if s.chars().any(char::is_control) {
        return Err(ParseError::Format("must not contain control characters"));
    }
    Ok(s)
}

fn links(errs: &mut ValidationErrors, raw: Vec<String>) -> Vec<String> {
    if raw.len() > MAX_LINKS {
        errs.push("links", format!("must have at most {MAX_LINKS} items"));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, l) in raw.into_iter().enumerate() {
        let lower = l.to_ascii_lowercase();
        if l.is_empty() || l.len() > MAX_LINK {
            errs.push(
                format!("links[{i}]"),
                format!("must be 1..={MAX_LINK} bytes"),
            );
        } else if l.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errs.push(format!("links[{i}]"), "must not contain whitespace");
        } else if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || l.len() <= "https://".len()
        {
            errs.push(
                format!("links[{i}]"),
                "must be an absolute http(s) URL, e.g. https://example.com/page",
            );
        } else {
            out.push(l);
        }
    }
    out
}

/// A channel slug that must be one of `campaign_channels` when it lists any.
fn campaign_channel(raw: &str, campaign_channels: &[String]) -> Result<String, ParseError> {
    let c = Channel::parse(raw)?;
    if !campaign_channels.is_empty() && !campaign_channels.iter().any(|x| x == c.as_str()) {
        return Err(ParseError::Rule(format!(
            "the campaign has no channel '{c}' (it has: {})",
            campaign_channels.join(", ")
        )));
    }
    Ok(String::from(c))
}

/// A [`NewContent`] whose every field parsed.
struct NewFields {
    campaign_id: String,
    channel: String,
    title: String,
    body: String,
    subject: Option<String>,
    links: Vec<String>,
    due: Option<DateTime<Utc>>,
}

impl NewContent {
    /// Parses every field, collecting one error per bad field.
    fn parse(self, campaign_channels: &[String]) -> Result<NewFields, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        if self.campaign_id.is_none() {
            errs.push("campaign_id", "is required");
        }
        let channel = errs.required("channel", self.channel, |c| {
            campaign_channel(&c, campaign_channels)
        });
        let title = errs.required("title", self.title, |t| title(&t));
        let body = self
            .body
            .map_or(Some(String::new()), |b| errs.check("body", body(&b)));
        let subject = match self.subject {
            Some(s) => errs.check("subject", subject(&s)).map(Some),
            None => Some(None),
        };
        let links = links(&mut errs, self.links);
        let due = match self.due {
            Some(d) => errs.check("due", parse_instant(&d)).map(Some),
            None => Some(None),
        };
        let (Some(channel), Some(title), Some(body), Some(subject), Some(due), true) =
            (channel, title, body, subject, due, errs.is_empty())
        else {
            return Err(errs);
        };
        Ok(NewFields {
            campaign_id: self.campaign_id.unwrap_or_default(),
            channel,
            title,
            body,
            subject,
            links,
            due,
        })
    }
}

impl ContentItem {
    /// Creates a draft. `campaign_channels` are the campaign's channels (any channel
    /// is accepted when it lists none).
    pub fn create(
        id: &str,
        input: NewContent,
        campaign_channels: &[String],
        author: &str,
        now: DateTime<Utc>,
        standard: Standard<'_>,
    ) -> Result<(Self, Changed), ValidationErrors> {
        let fields = input.parse(campaign_channels)?;
        let mut item = Self::draft(id, fields, author, now);
        item.rehash(standard);
        let mut changed = Changed::default();
        changed.push(
            author,
            "content.created",
            serde_json::json!({"content_hash": item.content_hash, "checks_passed": item.checks.passed}),
        );
        Ok((item, changed))
    }

    /// A new draft by `author`, not yet hashed or checked.
    fn draft(id: &str, fields: NewFields, author: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: id.to_string(),
            campaign_id: fields.campaign_id,
            channel: fields.channel,
            title: fields.title,
            body: fields.body,
            subject: fields.subject,
            links: fields.links,
            due: fields.due,
            author: author.to_string(),
            editors: vec![author.to_string()],
            state: ContentState::Draft,
            version: 1,
            content_hash: String::new(),
            checks: CheckReport {
                passed: false,
                content_hash: String::new(),
                standard_version: 0,
                checks: Vec::new(),
                failures: Vec::new(),
            },
            workflow: None,
            round: 0,
            decisions: Vec::new(),
            approval: None,
            scheduled: None,
            created_at: now,
            updated_at: now,
            published_at: None,
            refresh: None,
            review_started_at: None,
        }
    }

    /// Applies an edit. A change to the judged content (the hash) re-runs the checks;
    /// if the item was in review, approved or scheduled it re-enters review with
    /// `workflow` and every earlier decision is void.
    pub fn apply_patch(
        &mut self,
        patch: ContentPatch,
        editor: &str,
        now: DateTime<Utc>,
        standard: Standard<'_>,
        workflow: &Workflow,
    ) -> Result<Changed, ContentError> {
        self.editable()?;
        let mut next = self.patched(patch).map_err(ContentError::Invalid)?;
        let old_hash = self.content_hash.clone();
        next.rehash(standard);
        let mut changed = Changed::default();
        // Only a change to the judged content makes someone an editor (who may then
        // no longer decide on the item).
        if next.content_hash != old_hash && !next.editors.iter().any(|e| e == editor) {
            next.editors.push(editor.to_string());
        }
        changed.push(
            editor,
            "content.updated",
            serde_json::json!({"previous_hash": old_hash, "content_hash": next.content_hash, "checks_passed": next.checks.passed}),
        );
        if next.content_hash != old_hash {
            if next.state == ContentState::ChangesRequested {
                // The round sent back is over: its decisions never count again,
                // even if a later edit restores the hash they were made on.
                next.round += 1;
            }
            next.reopen_review(editor, now, workflow, &mut changed);
        }
        next.touch(now);
        next.prune_decisions();
        *self = next;
        Ok(changed)
    }

    /// A copy of the item with every present field of `patch` parsed and set
    /// (neither re-hashed nor re-checked yet).
    fn patched(&self, patch: ContentPatch) -> Result<ContentItem, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut next = self.clone();
        if let Some(t) = patch.title
            && let Some(t) = errs.check("title", title(&t))
        {
            next.title = t;
        }
        if let Some(b) = patch.body
            && let Some(b) = errs.check("body", body(&b))
        {
            next.body = b;
        }
        match patch.subject {
            Some(Some(s)) => {
                if let Some(s) = errs.check("subject", subject(&s)) {
                    next.subject = Some(s);
                }
            }
            Some(None) => next.subject = None,
            None => {}
        }
        if let Some(l) = patch.links {
            next.links = links(&mut errs, l);
        }
        match patch.due {
            Some(Some(d)) => {
                if let Some(d) = errs.check("due", parse_instant(&d)) {
                    next.due = Some(d);
                }
            }
            Some(None) => next.due = None,
            None => {}
        }
        errs.into_result(next)
    }
}
