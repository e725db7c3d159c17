//! One sample per process event, and the week and team it belongs to.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

/// What happened to a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerOutcome {
    /// An evaluation run created it.
    Fired,
    /// A dispatch attempt failed and will be retried.
    AttemptFailed,
    /// The action was performed.
    Succeeded,
    /// Every attempt failed.
    DeadLettered,
    /// An operations user refused it.
    Rejected,
}

/// An approval stage as a review round opened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSpec {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "ro")]
    pub role: String,
    /// Approvals that complete it.
    #[serde(rename = "k")]
    pub needed: u32,
    /// Opens together with the stage before it.
    #[serde(rename = "p")]
    pub parallel: bool,
}

/// One process event. Times are unix seconds. Stored by the thousand in every
/// week's records, so the stored names are short (docs/analytics.md, "Stored form").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Sample {
    /// A campaign left stage `from` (entered at `entered`) for `to` at `left`.
    #[serde(rename = "s")]
    Stage {
        #[serde(rename = "c")]
        campaign: String,
        #[serde(rename = "f")]
        from: String,
        #[serde(rename = "t")]
        to: String,
        #[serde(rename = "e")]
        entered: i64,
        #[serde(rename = "l")]
        left: i64,
    },
    /// Review round `round` of a content item began, with the workflow's stages.
    #[serde(rename = "o")]
    Opened {
        #[serde(rename = "i")]
        item: String,
        #[serde(rename = "c")]
        campaign: String,
        #[serde(rename = "ch")]
        channel: String,
        #[serde(rename = "r")]
        round: u32,
        at: i64,
        #[serde(rename = "sg")]
        stages: Vec<StageSpec>,
    },
    /// A reviewer decided on stage `stage` of round `round`, submitted at `submitted`.
    #[serde(rename = "d")]
    Decision {
        #[serde(rename = "i")]
        item: String,
        #[serde(rename = "c")]
        campaign: String,
        #[serde(rename = "ch")]
        channel: String,
        #[serde(rename = "r")]
        round: u32,
        #[serde(rename = "st")]
        stage: String,
        #[serde(rename = "ro")]
        role: String,
        #[serde(rename = "rv")]
        reviewer: String,
        #[serde(rename = "ok")]
        approve: bool,
        #[serde(rename = "sub")]
        submitted: i64,
        at: i64,
    },
    /// Rework: changes were requested (`edit` false) or approved content was edited.
    #[serde(rename = "r")]
    Rework {
        #[serde(rename = "i")]
        item: String,
        #[serde(rename = "c")]
        campaign: String,
        #[serde(rename = "ch")]
        channel: String,
        #[serde(rename = "r")]
        round: u32,
        #[serde(rename = "ed")]
        edit: bool,
        at: i64,
    },
    /// The item was approved, by its workflow or (`auto`) by the system.
    #[serde(rename = "a")]
    Approved {
        #[serde(rename = "i")]
        item: String,
        #[serde(rename = "c")]
        campaign: String,
        #[serde(rename = "ch")]
        channel: String,
        #[serde(rename = "r")]
        round: u32,
        #[serde(rename = "au")]
        auto: bool,
        #[serde(rename = "du")]
        due: Option<i64>,
        at: i64,
    },
    /// The item's send was scheduled.
    #[serde(rename = "c")]
    Scheduled {
        #[serde(rename = "i")]
        item: String,
        #[serde(rename = "c")]
        campaign: String,
        #[serde(rename = "ch")]
        channel: String,
        #[serde(rename = "du")]
        due: Option<i64>,
        at: i64,
    },
    /// The item was withdrawn during round `round`.
    #[serde(rename = "w")]
    Withdrawn {
        #[serde(rename = "i")]
        item: String,
        #[serde(rename = "c")]
        campaign: String,
        #[serde(rename = "ch")]
        channel: String,
        #[serde(rename = "r")]
        round: u32,
        at: i64,
    },
    /// A trigger fired at `fired`; `outcome` happened at `at`. `value` is what
    /// the rule measured when it fired.
    #[serde(rename = "t")]
    Trigger {
        #[serde(rename = "tr")]
        trigger: String,
        #[serde(rename = "c")]
        campaign: Option<String>,
        #[serde(rename = "ru")]
        rule: String,
        #[serde(rename = "m")]
        metric: String,
        #[serde(rename = "o")]
        outcome: TriggerOutcome,
        #[serde(rename = "fi")]
        fired: i64,
        at: i64,
        #[serde(rename = "v")]
        value: Option<f64>,
        /// The scope the rule measured (`campaign:<id>[:channel:<ch>]`, `resources`).
        #[serde(rename = "sc", default)]
        scope: String,
    },
}

impl Sample {
    /// A stable identity: the same event always has the same id.
    pub fn id(&self) -> String {
        match self {
            Sample::Stage {
                campaign,
                from,
                left,
                ..
            } => format!("s:{campaign}:{from}:{left}"),
            Sample::Opened { item, round, .. } => format!("o:{item}:{round}"),
            Sample::Decision {
                item,
                round,
                stage,
                reviewer,
                ..
            } => format!("d:{item}:{round}:{stage}:{reviewer}"),
            Sample::Rework { item, edit, at, .. } => format!("r:{item}:{}:{at}", u8::from(*edit)),
            Sample::Approved { item, round, .. } => format!("a:{item}:{round}"),
            Sample::Scheduled { item, at, .. } => format!("c:{item}:{at}"),
            Sample::Withdrawn { item, round, .. } => format!("w:{item}:{round}"),
            Sample::Trigger {
                trigger, outcome, ..
            } => match outcome {
                // Each attempt is its own event; the others happen once.
                TriggerOutcome::AttemptFailed => format!("t:{trigger}:{outcome:?}:{}", self.at()),
                _ => format!("t:{trigger}:{outcome:?}"),
            },
        }
    }

    /// When it happened (unix seconds): the week it is counted in.
    pub fn at(&self) -> i64 {
        match self {
            Sample::Stage { left, .. } => *left,
            Sample::Opened { at, .. }
            | Sample::Decision { at, .. }
            | Sample::Rework { at, .. }
            | Sample::Approved { at, .. }
            | Sample::Scheduled { at, .. }
            | Sample::Withdrawn { at, .. }
            | Sample::Trigger { at, .. } => *at,
        }
    }

    /// The campaign it belongs to (`None`: a trigger on the resource pool).
    pub fn campaign(&self) -> Option<&str> {
        match self {
            Sample::Stage { campaign, .. }
            | Sample::Opened { campaign, .. }
            | Sample::Decision { campaign, .. }
            | Sample::Rework { campaign, .. }
            | Sample::Approved { campaign, .. }
            | Sample::Scheduled { campaign, .. }
            | Sample::Withdrawn { campaign, .. } => Some(campaign),
            Sample::Trigger { campaign, .. } => campaign.as_deref(),
        }
    }

    /// The content channel (`None` for campaign stages and triggers).
    pub fn channel(&self) -> Option<&str> {
        match self {
            Sample::Opened { channel, .. }
            | Sample::Decision { channel, .. }
            | Sample::Rework { channel, .. }
            | Sample::Approved { channel, .. }
            | Sample::Scheduled { channel, .. }
            | Sample::Withdrawn { channel, .. } => Some(channel),
            Sample::Stage { .. } | Sample::Trigger { .. } => None,
        }
    }

    /// The content item (`None` for campaign stages and triggers).
    pub fn item(&self) -> Option<&str> {
        match self {
            Sample::Opened { item, .. }
            | Sample::Decision { item, .. }
            | Sample::Rework { item, .. }
            | Sample::Approved { item, .. }
            | Sample::Scheduled { item, .. }
            | Sample::Withdrawn { item, .. } => Some(item),
            Sample::Stage { .. } | Sample::Trigger { .. } => None,
        }
    }
}

/// The team that owns a campaign stage's work: marketing plans and produces,
/// operations distributes, monitors and optimizes (the handoff table of the
/// campaign stages).
pub fn stage_team(stage: &str) -> Option<&'static str> {
    match stage {
        "planning" | "production" => Some("marketing"),
        "distribution" | "monitoring" | "optimization" => Some("operations"),
        _ => None,
    }
}

/// The team of an approval stage's role; brand and compliance reviewers belong
/// to neither.
pub fn role_team(role: &str) -> Option<&'static str> {
    match role {
        "marketing" => Some("marketing"),
        "operations" => Some("operations"),
        _ => None,
    }
}

/// The ISO week of a unix time, e.g. `2026-W48` (`None` out of chrono's range).
pub fn iso_week(t: i64) -> Option<String> {
    let w = DateTime::<Utc>::from_timestamp(t, 0)?.iso_week();
    Some(format!("{}-W{:02}", w.year(), w.week()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_follow_iso_numbering() {
        // 2026-12-31 is a Thursday: week 53 of 2026; 2027-01-04 is in week 1.
        assert_eq!(iso_week(1_798_675_200).as_deref(), Some("2026-W53"));
        assert_eq!(iso_week(1_799_020_800).as_deref(), Some("2027-W01"));
    }

    #[test]
    fn ids_are_stable_and_distinguish_events() {
        let s = Sample::Decision {
            item: "I".into(),
            campaign: "C".into(),
            channel: "email".into(),
            round: 2,
            stage: "brand".into(),
            role: "brand_reviewer".into(),
            reviewer: "u1".into(),
            approve: true,
            submitted: 10,
            at: 20,
        };
        assert_eq!(s.id(), "d:I:2:brand:u1");
        let json = serde_json::to_string(&s).expect("encodes");
        let back: Sample = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back, s);
    }
}
