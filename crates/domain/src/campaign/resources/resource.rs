//! Resources: people, teams and budget pools that campaigns draw on, with a
//! capacity per day in the unit their kind fixes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::campaign::values::{MAX_MINOR_UNITS, ResourceName, Skill};
use crate::validation::{ParseError, ValidationErrors};

/// At most this many skills per resource.
pub const MAX_SKILLS: usize = 30;

/// What a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// One person; capacity in hours per day (at most 24).
    Person,
    /// A team; capacity in hours per day (at most 24 000).
    Team,
    /// A budget pool; capacity in currency minor units per day.
    BudgetPool,
}

/// The unit of a resource's capacity and of the allocations on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Whole hours.
    Hours,
    /// Currency minor units (cents).
    MinorUnits,
}

impl Unit {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Hours => "hours",
            Unit::MinorUnits => "minor_units",
        }
    }
}

impl ResourceKind {
    /// The kind's name in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Person => "person",
            ResourceKind::Team => "team",
            ResourceKind::BudgetPool => "budget_pool",
        }
    }

    /// Parses a wire name: `person`, `team` or `budget_pool`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "person" => Ok(ResourceKind::Person),
            "team" => Ok(ResourceKind::Team),
            "budget_pool" => Ok(ResourceKind::BudgetPool),
            _ => Err(ParseError::Format(
                "must be one of person, team, budget_pool",
            )),
        }
    }

    /// The unit capacities and allocations of this kind are counted in.
    pub fn unit(self) -> Unit {
        match self {
            ResourceKind::Person | ResourceKind::Team => Unit::Hours,
            ResourceKind::BudgetPool => Unit::MinorUnits,
        }
    }

    /// The largest capacity per day a resource of this kind may have.
    pub fn max_capacity(self) -> i64 {
        match self {
            ResourceKind::Person => 24,
            ResourceKind::Team => 24_000,
            ResourceKind::BudgetPool => MAX_MINOR_UNITS,
        }
    }
}

/// A positive amount per day, 1..=[`MAX_MINOR_UNITS`], in the resource's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Amount(i64);

impl Amount {
    /// Parses an amount.
    pub fn parse(raw: i64) -> Result<Self, ParseError> {
        if (1..=MAX_MINOR_UNITS).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(ParseError::OutOfRange {
                min: "1".into(),
                max: MAX_MINOR_UNITS.to_string(),
            })
        }
    }

    /// The amount as a plain integer.
    pub fn value(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Amount {
    type Error = ParseError;
    fn try_from(raw: i64) -> Result<Self, ParseError> {
        Self::parse(raw)
    }
}

impl From<Amount> for i64 {
    fn from(value: Amount) -> i64 {
        value.0
    }
}

/// A person, team or budget pool that campaigns draw on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Resource id (assigned by the caller).
    pub id: String,
    /// Display name.
    pub name: ResourceName,
    /// What it is; fixes the unit.
    pub kind: ResourceKind,
    /// How much it can give per day, in the kind's unit.
    pub capacity_per_day: Amount,
    /// Skills, sorted, no duplicates; rebalancing moves work only to a resource
    /// with the skill the allocation needs.
    pub skills: Vec<Skill>,
}

/// `POST`/`PUT /api/resources[/{id}]` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// Required: display name.
    pub name: Option<String>,
    /// Required: `person`, `team` or `budget_pool`.
    pub kind: Option<String>,
    /// Required: capacity per day in the kind's unit.
    pub capacity_per_day: Option<i64>,
    /// Skills (slugs).
    #[serde(default)]
    pub skills: Vec<String>,
}

impl ResourceInput {
    /// Parses into a resource with the given id.
    pub fn parse(self, id: String) -> Result<Resource, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let name = errs.required("name", self.name, ResourceName::parse);
        let kind = errs.required("kind", self.kind.as_deref(), ResourceKind::parse);
        let capacity = errs.required("capacity_per_day", self.capacity_per_day, |c| {
            let max = kind.map_or(MAX_MINOR_UNITS, ResourceKind::max_capacity);
            if (1..=max).contains(&c) {
                Amount::parse(c)
            } else {
                Err(ParseError::OutOfRange {
                    min: "1".into(),
                    max: max.to_string(),
                })
            }
        });
        let mut skills = BTreeSet::new();
        if self.skills.len() > MAX_SKILLS {
            errs.push(
                "skills",
                ParseError::TooLong {
                    max: MAX_SKILLS,
                    unit: "items",
                }
                .to_string(),
            );
        } else {
            for (i, s) in self.skills.iter().enumerate() {
                if let Some(skill) = errs.check(format!("skills[{i}]"), Skill::parse(s)) {
                    skills.insert(skill);
                }
            }
        }
        match (name, kind, capacity) {
            (Some(name), Some(kind), Some(capacity_per_day)) => errs.into_result(Resource {
                id,
                name,
                kind,
                capacity_per_day,
                skills: skills.into_iter().collect(),
            }),
            _ => Err(errs),
        }
    }
}

/// A change to a resource: fields left out keep their value. The kind (and so the
/// unit of every allocation on it) cannot change; create a new resource instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcePatch {
    /// New display name.
    pub name: Option<String>,
    /// Must equal the current kind if sent.
    pub kind: Option<String>,
    /// New capacity per day.
    pub capacity_per_day: Option<i64>,
    /// New skills (replacing the old ones).
    pub skills: Option<Vec<String>>,
}

impl Resource {
    /// The resource with `patch` applied, validated as a new resource would be.
    pub fn apply_patch(&self, patch: ResourcePatch) -> Result<Resource, ValidationErrors> {
        if let Some(kind) = patch.kind.as_deref()
            && ResourceKind::parse(kind) != Ok(self.kind)
        {
            let mut errs = ValidationErrors::default();
            errs.push("kind", "cannot change; create a new resource instead");
            return Err(errs);
        }
        ResourceInput {
            name: Some(patch.name.unwrap_or_else(|| self.name.to_string())),
            kind: Some(self.kind.as_str().to_string()),
            capacity_per_day: Some(
                patch
                    .capacity_per_day
                    .unwrap_or(self.capacity_per_day.value()),
            ),
            skills: patch
                .skills
                .unwrap_or_else(|| self.skills.iter().map(ToString::to_string).collect()),
        }
        .parse(self.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_input_errors_are_per_field() {
        let bad = ResourceInput {
            name: None,
            kind: Some("robot".into()),
            capacity_per_day: Some(0),
            skills: vec!["Copy Writing".into()],
        };
        let fields: Vec<_> = bad
            .parse("r".into())
            .err()
            .map(|e| e.errors.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["name", "kind", "capacity_per_day", "skills[0]"]);
        let person_over_24 = ResourceInput {
            name: Some("Ann".into()),
            kind: Some("person".into()),
            capacity_per_day: Some(25),
            skills: vec![],
        };
        assert!(person_over_24.parse("ann".into()).is_err());
    }
}
