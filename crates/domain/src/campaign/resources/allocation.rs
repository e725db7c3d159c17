//! Allocations: part of a resource booked for a campaign on a range of days.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::resource::Amount;
use crate::campaign::values::{DateRange, ExternalId, Skill, parse_day};
use crate::validation::{ParseError, ValidationErrors};

/// Part of a resource booked for a campaign: `amount_per_day` on every day of `days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AllocationFields", into = "AllocationFields")]
pub struct Allocation {
    /// Allocation id (assigned by the caller).
    pub id: String,
    /// The resource booked.
    pub resource_id: String,
    /// The campaign it is booked for.
    pub campaign_id: String,
    /// The days (inclusive), serialized as `from` and `to`.
    pub days: DateRange,
    /// How much per day, in the resource's unit.
    pub amount_per_day: Amount,
    /// The skill the work needs, if any; limits where rebalancing may move it.
    pub skill: Option<Skill>,
}

#[derive(Serialize, Deserialize)]
struct AllocationFields {
    id: String,
    resource_id: String,
    campaign_id: String,
    from: NaiveDate,
    to: NaiveDate,
    amount_per_day: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skill: Option<Skill>,
}

impl TryFrom<AllocationFields> for Allocation {
    type Error = ParseError;
    fn try_from(f: AllocationFields) -> Result<Self, ParseError> {
        Ok(Allocation {
            id: f.id,
            resource_id: f.resource_id,
            campaign_id: f.campaign_id,
            days: DateRange::parse(f.from, f.to)?,
            amount_per_day: f.amount_per_day,
            skill: f.skill,
        })
    }
}

impl From<Allocation> for AllocationFields {
    fn from(a: Allocation) -> Self {
        AllocationFields {
            id: a.id,
            resource_id: a.resource_id,
            campaign_id: a.campaign_id,
            from: a.days.from(),
            to: a.days.to(),
            amount_per_day: a.amount_per_day,
            skill: a.skill,
        }
    }
}

/// An allocation as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    /// Required: the resource.
    pub resource_id: Option<String>,
    /// Required: the campaign (a route may fill it from the path).
    pub campaign_id: Option<String>,
    /// Required: first day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Required: last day (inclusive).
    pub to: Option<String>,
    /// Required: amount per day in the resource's unit.
    pub amount_per_day: Option<i64>,
    /// The skill the work needs.
    pub skill: Option<String>,
}

impl AllocationInput {
    /// Parses into an allocation with the given id. Whether the resource and the
    /// campaign exist is for the caller to check.
    pub fn parse(self, id: String) -> Result<Allocation, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let resource_id = errs.required("resource_id", self.resource_id, ExternalId::parse);
        let campaign_id = errs.required("campaign_id", self.campaign_id, ExternalId::parse);
        let from = errs.required("from", self.from.as_deref(), parse_day);
        let to = errs.required("to", self.to.as_deref(), parse_day);
        let days = match (from, to) {
            (Some(from), Some(to)) => errs.check("to", DateRange::parse(from, to)),
            _ => None,
        };
        let amount = errs.required("amount_per_day", self.amount_per_day, Amount::parse);
        let skill = match self.skill.as_deref() {
            Some(s) => errs.check("skill", Skill::parse(s)).map(Some),
            None => Some(None),
        };
        match (resource_id, campaign_id, days, amount, skill) {
            (Some(r), Some(c), Some(days), Some(amount_per_day), Some(skill)) => {
                errs.into_result(Allocation {
                    id,
                    resource_id: r.into(),
                    campaign_id: c.into(),
                    days,
                    amount_per_day,
                    skill,
                })
            }
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::resources::tests::allocation;

    #[test]
    fn allocation_input_errors_are_per_field() {
        let bad = AllocationInput {
            resource_id: Some("r 1".into()),
            campaign_id: None,
            from: Some("2030-03-10".into()),
            to: Some("2030-03-01".into()),
            amount_per_day: Some(0),
            skill: Some("".into()),
        };
        let fields: Vec<_> = bad
            .parse("a".into())
            .err()
            .map(|e| e.errors.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "resource_id",
                "campaign_id",
                "to",
                "amount_per_day",
                "skill"
            ]
        );
    }

    #[test]
    fn allocation_serializes_flat_and_round_trips() {
        let a = allocation("a1", "ann", "c1", "2030-03-01", "2030-03-02", 4);
        let json = serde_json::to_value(&a).unwrap_or_default();
        assert_eq!(json["from"], "2030-03-01");
        assert_eq!(json["amount_per_day"], 4);
        assert_eq!(serde_json::from_value::<Allocation>(json).ok(), Some(a));
        let backwards = serde_json::json!({"id":"a","resource_id":"r","campaign_id":"c","from":"2030-03-02","to":"2030-03-01","amount_per_day":1});
        assert!(serde_json::from_value::<Allocation>(backwards).is_err());
    }
}
