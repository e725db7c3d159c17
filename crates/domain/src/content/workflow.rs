//! Approval workflows as data: an ordered list of stages, each with the role that
//! decides it and the rule that completes it. Stages run one after another unless a
//! stage is marked `parallel`, which opens it together with the stage before it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::campaign::UserId;
use crate::validation::{ParseError, ValidationErrors};

/// At most this many stages per workflow.
pub const MAX_STAGES: usize = 10;
/// At most this many listed approvers per stage.
pub const MAX_APPROVERS: usize = 20;

/// The roles that can decide a stage (the reviewing subset of the API roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageRole {
    /// Brand review.
    BrandReviewer,
    /// Compliance / legal review.
    ComplianceReviewer,
    /// Operations sign-off.
    Operations,
    /// Marketing peer review.
    Marketing,
}

impl StageRole {
    /// The role's name as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StageRole::BrandReviewer => "brand_reviewer",
            StageRole::ComplianceReviewer => "compliance_reviewer",
            StageRole::Operations => "operations",
            StageRole::Marketing => "marketing",
        }
    }
}

/// How a stage completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletionRule {
    /// One approval (from anyone with the role, or from a listed approver).
    One,
    /// Every listed approver approves.
    All,
    /// `n` of the listed approvers approve.
    NOfM,
}

/// One stage of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDef {
    /// Stage name, a slug unique within the workflow (`brand`, `compliance`).
    pub name: String,
    /// Who decides it.
    pub role: StageRole,
    /// How it completes.
    pub rule: CompletionRule,
    /// For `n_of_m`: how many approvals complete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// When non-empty, only these users (who must also hold the role) decide it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// Opens together with the previous stage instead of after it.
    #[serde(default)]
    pub parallel: bool,
}

impl StageDef {
    /// Approvals needed to complete the stage.
    pub fn needed(&self) -> usize {
        match self.rule {
            CompletionRule::One => 1,
            CompletionRule::All => self.approvers.len().max(1),
            CompletionRule::NOfM => self.n.map_or(1, |n| n as usize),
        }
    }

    /// Whether `user` may decide this stage by name (the role is checked apart).
    pub fn lists(&self, user: &str) -> bool {
        self.approvers.is_empty() || self.approvers.iter().any(|a| a == user)
    }
}

/// A workflow: the stages and whether clean items skip them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    /// Stages in order.
    pub stages: Vec<StageDef>,
    /// Items that pass every automated check are approved by the system.
    #[serde(default)]
    pub auto_approve: bool,
}

impl Default for Workflow {
    /// Brand review → compliance review → operations sign-off, one approval each.
    fn default() -> Self {
        let stage = |name: &str, role| StageDef {
            name: name.to_string(),
            role,
            rule: CompletionRule::One,
            n: None,
            approvers: Vec::new(),
            parallel: false,
        };
        Self {
            stages: vec![
                stage("brand", StageRole::BrandReviewer),
                stage("compliance", StageRole::ComplianceReviewer),
                stage("operations", StageRole::Operations),
            ],
            auto_approve: false,
        }
    }
}

/// A workflow as sent (`PUT` bodies).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowInput {
    /// Stages in order; an empty list is allowed only with `auto_approve`.
    pub stages: Option<Vec<StageInput>>,
    /// Whether clean items are approved automatically.
    #[serde(default)]
    pub auto_approve: bool,
}

/// A stage as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    /// Required: slug.
    pub name: Option<String>,
    /// Required: `brand_reviewer`, `compliance_reviewer`, `operations` or `marketing`.
    pub role: Option<String>,
    /// `one` (default), `all` or `n_of_m`.
    pub rule: Option<String>,
    /// For `n_of_m`.
    pub n: Option<i64>,
    /// Listed approvers (required for `all` and `n_of_m`).
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Opens with the previous stage.
    #[serde(default)]
    pub parallel: bool,
}

fn stage_name(raw: &str) -> Result<String, ParseError> {
    crate::campaign::Channel::parse(raw).map(String::from)
}

fn role(raw: &str) -> Result<StageRole, ParseError> {
    match raw {
        "brand_reviewer" => Ok(StageRole::BrandReviewer),
        "compliance_reviewer" => Ok(StageRole::ComplianceReviewer),
        "operations" => Ok(StageRole::Operations),
        "marketing" => Ok(StageRole::Marketing),
        _ => Err(ParseError::Format(
            "must be brand_reviewer, compliance_reviewer, operations or marketing",
        )),
    }
}

impl WorkflowInput {
    /// Parses into a workflow with per-field errors.
    pub fn parse(self) -> Result<Workflow, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut stages = Vec::new();
        let Some(raw) = self.stages else {
            errs.push("stages", "is required");
            return Err(errs);
        };
        if raw.len() > MAX_STAGES {
            errs.push("stages", format!("must have at most {MAX_STAGES} stages"));
            return Err(errs);
        }
        if raw.is_empty() && !self.auto_approve {
            errs.push(
                "stages",
                "must not be empty unless auto_approve is true (someone must approve)",
            );
        }
        let mut names = BTreeSet::new();
        for (i, s) in raw.into_iter().enumerate() {
            if let Some(stage) = s.parse(i, &mut names, &mut errs) {
                stages.push(stage);
            }
        }
        errs.into_result(Workflow {
            stages,
            auto_approve: self.auto_approve,
        })
    }
}

impl StageInput {
    /// Parses stage `i`, recording errors under `stages[i]`; `names` holds the
    /// names of the stages before it. `None` when a required part is missing.
    fn parse(
        self,
        i: usize,
        names: &mut BTreeSet<String>,
        errs: &mut ValidationErrors,
    ) -> Option<StageDef> {
        let f = |k: &str| format!("stages[{i}].{k}");
        let name = errs.required(&f("name"), self.name, |n| stage_name(&n));
        if let Some(n) = &name
            && !names.insert(n.clone())
        {
            errs.push(f("name"), format!("'{n}' is used by an earlier stage"));
        }
        let role = errs.required(&f("role"), self.role, |r| role(&r));
        let rule = match self.rule.as_deref() {
            None | Some("one") => Some(CompletionRule::One),
            Some("all") => Some(CompletionRule::All),
            Some("n_of_m") => Some(CompletionRule::NOfM),
            Some(_) => {
                errs.push(f("rule"), "must be one, all or n_of_m");
                None
            }
        };
        let approvers = approvers(&self.approvers, &f("approvers"), errs);
        let n = needed(rule, self.n, self.approvers.len(), &f, errs);
        if self.parallel && i == 0 {
            errs.push(f("parallel"), "the first stage has no stage to run beside");
        }
        Some(StageDef {
            name: name?,
            role: role?,
            rule: rule?,
            n,
            approvers,
            parallel: self.parallel,
        })
    }
}

/// The listed approvers as user ids: at most [`MAX_APPROVERS`], none twice.
fn approvers(raw: &[String], field: &str, errs: &mut ValidationErrors) -> Vec<String> {
    if raw.len() > MAX_APPROVERS {
        errs.push(
            field,
            format!("must list at most {MAX_APPROVERS} approvers"),
        );
    }
    let mut approvers = Vec::new();
    for (j, a) in raw.iter().enumerate() {
        match UserId::parse(a) {
            Ok(u) if approvers.contains(&String::from(u.clone())) => {
                errs.push(format!("{field}[{j}]"), "is listed twice")
            }
            Ok(u) => approvers.push(u.into()),
            Err(e) => errs.push(format!("{field}[{j}]"), e.to_string()),
        }
    }
    approvers
}

/// `n` for rule `n_of_m` (1..=listed approvers); `all` and `n_of_m` need listed
/// approvers, and no other rule takes an `n`.
fn needed(
    rule: Option<CompletionRule>,
    n: Option<i64>,
    listed: usize,
    f: &impl Fn(&str) -> String,
    errs: &mut ValidationErrors,
) -> Option<u32> {
    match rule {
        Some(CompletionRule::All) if listed == 0 => {
            errs.push(f("approvers"), "rule 'all' needs the listed approvers");
            None
        }
        Some(CompletionRule::NOfM) => {
            if listed == 0 {
                errs.push(f("approvers"), "rule 'n_of_m' needs the listed approvers");
            }
            match n {
                Some(v) if v >= 1 && (v as usize) <= listed.max(1) => Some(v as u32),
                Some(_) => {
                    errs.push(f("n"), format!("must be between 1 and {}", listed.max(1)));
                    None
                }
                None => {
                    errs.push(f("n"), "is required for rule 'n_of_m'");
                    None
                }
            }
        }
        _ => {
            if n.is_some() {
                errs.push(f("n"), "is only used with rule 'n_of_m'");
            }
            None
        }
    }
}

impl Workflow {
    /// Stage indices grouped by when they open: a group is a stage and the
    /// `parallel` stages right after it.
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, s) in self.stages.iter().enumerate() {
            match groups.last_mut() {
                Some(g) if s.parallel => g.push(i),
                _ => groups.push(vec![i]),
            }
        }
        groups
    }

    /// The stage named `name`.
    pub fn stage(&self, name: &str) -> Option<(usize, &StageDef)> {
        self.stages.iter().enumerate().find(|(_, s)| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, role: &str) -> StageInput {
        StageInput {
            name: Some(name.into()),
            role: Some(role.into()),
            ..Default::default()
        }
    }

    #[test]
    fn parses_rules_and_groups_parallel_stages() {
        let mut legal = stage("legal", "compliance_reviewer");
        legal.parallel = true;
        legal.rule = Some("n_of_m".into());
        legal.n = Some(2);
        legal.approvers = vec!["a".into(), "b".into(), "c".into()];
        let w = WorkflowInput {
            stages: Some(vec![
                stage("brand", "brand_reviewer"),
                legal,
                stage("ops", "operations"),
            ]),
            auto_approve: false,
        }
        .parse()
        .expect("valid");
        assert_eq!(w.groups(), vec![vec![0, 1], vec![2]]);
        assert_eq!(w.stages[1].needed(), 2);
        assert!(w.stages[1].lists("a") && !w.stages[1].lists("z"));
    }

    #[test]
    fn refuses_bad_workflows_per_field() {
        let mut all = stage("x", "operations");
        all.rule = Some("all".into());
        let mut first = stage("brand", "king");
        first.parallel = true;
        let e = WorkflowInput {
            stages: Some(vec![first, all, stage("x", "marketing")]),
            auto_approve: false,
        }
        .parse()
        .unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"stages[0].role"));
        assert!(fields.contains(&"stages[0].parallel"));
        assert!(fields.contains(&"stages[1].approvers"));
        assert!(fields.contains(&"stages[2].name"));
        let empty = WorkflowInput {
            stages: Some(vec![]),
            auto_approve: false,
        };
        assert!(empty.parse().is_err());
    }
}

/// Default sends per hour per channel when the channel has no policy.
pub const DEFAULT_CAP_PER_HOUR: u32 = 10;

/// A channel's policy: the workflow its items go through and its hourly send cap.
/// content-config edits it; content-approval reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelPolicy {
    /// Workflow (unless the campaign overrides it).
    pub workflow: Workflow,
    /// Sends per hour on this channel across all scheduled items.
    pub cap_per_hour: u32,
}

impl Default for ChannelPolicy {
    fn default() -> Self {
        Self {
            workflow: Workflow::default(),
            cap_per_hour: DEFAULT_CAP_PER_HOUR,
        }
    }
}
