//! Utilization: how much of each resource is allocated on each day, against its
//! capacity, and where that is more than the resource has.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::allocation::Allocation;
use super::resource::{Resource, ResourceKind, Unit};
use crate::campaign::values::DateRange;

/// One resource on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayUtilization {
    /// The day.
    pub date: NaiveDate,
    /// Sum of the allocations on that day.
    pub allocated: i64,
    /// The resource's capacity per day.
    pub capacity: i64,
    /// `allocated / capacity` (1.0 = fully used; above 1.0 = overallocated).
    pub ratio: f64,
}

/// One resource over a day range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceUtilization {
    /// The resource's id.
    pub resource_id: String,
    /// Its kind, which fixes the unit.
    pub kind: ResourceKind,
    /// The unit of `allocated` and `capacity`.
    pub unit: Unit,
    /// Every day of the range, in order.
    pub days: Vec<DayUtilization>,
    /// How many of those days are overallocated.
    pub overallocated_days: usize,
}

/// A resource-day where more is allocated than the resource has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overallocation {
    /// The overallocated resource's id.
    pub resource_id: String,
    /// The overallocated day.
    pub date: NaiveDate,
    /// Allocated that day.
    pub allocated: i64,
    /// Capacity that day.
    pub capacity: i64,
    /// `allocated - capacity`, > 0.
    pub excess: i64,
}

/// Allocated amount per (resource id, day) within `range`, from every allocation
/// (whether or not its resource is known). Days with nothing allocated are absent.
pub(in crate::campaign) fn utilization_map(
    allocations: &[Allocation],
    range: DateRange,
) -> BTreeMap<(&str, NaiveDate), i64> {
    let mut map: BTreeMap<(&str, NaiveDate), i64> = BTreeMap::new();
    for a in allocations {
        if let Some(overlap) = a.days.intersect(&range) {
            for d in overlap.days() {
                let slot = map.entry((a.resource_id.as_str(), d)).or_default();
                *slot = slot.saturating_add(a.amount_per_day.value());
            }
        }
    }
    map
}

/// Utilization of every resource on every day of `range`: allocated, capacity
/// and their ratio. Allocations on resources not in `resources` are ignored.
pub fn utilization(
    resources: &[Resource],
    allocations: &[Allocation],
    range: DateRange,
) -> Vec<ResourceUtilization> {
    let map = utilization_map(allocations, range);
    resources
        .iter()
        .map(|r| {
            let capacity = r.capacity_per_day.value();
            let days: Vec<DayUtilization> = range
                .days()
                .map(|date| {
                    let allocated = map.get(&(r.id.as_str(), date)).copied().unwrap_or(0);
                    DayUtilization {
                        date,
                        allocated,
                        capacity,
                        ratio: allocated as f64 / capacity as f64,
                    }
                })
                .collect();
            ResourceUtilization {
                resource_id: r.id.clone(),
                kind: r.kind,
                unit: r.kind.unit(),
                overallocated_days: days.iter().filter(|d| d.allocated > d.capacity).count(),
                days,
            }
        })
        .collect()
}

/// Every overallocated resource-day in `range`, by resource then day.
pub fn overallocations(
    resources: &[Resource],
    allocations: &[Allocation],
    range: DateRange,
) -> Vec<Overallocation> {
    utilization(resources, allocations, range)
        .into_iter()
        .flat_map(|u| {
            let id = u.resource_id;
            u.days
                .into_iter()
                .filter(|d| d.allocated > d.capacity)
                .map(move |d| Overallocation {
                    resource_id: id.clone(),
                    date: d.date,
                    allocated: d.allocated,
                    capacity: d.capacity,
                    excess: d.allocated - d.capacity,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::resources::tests::{
        allocation, day, gen_allocations, gen_range, gen_resources, range, resource,
    };
    use proptest::prelude::*;

    #[test]
    fn utilization_sums_overlapping_allocations_and_flags_overallocation() {
        let resources = [resource("ann", ResourceKind::Person, 8, &[])];
        let allocations = [
            allocation("a1", "ann", "c1", "2030-03-01", "2030-03-03", 4),
            allocation("a2", "ann", "c2", "2030-03-03", "2030-03-05", 6),
        ];
        let u = utilization(&resources, &allocations, range("2030-03-02", "2030-03-04"));
        let got: Vec<_> = u[0].days.iter().map(|d| (d.allocated, d.ratio)).collect();
        assert_eq!(got, [(4, 0.5), (10, 1.25), (6, 0.75)]);
        assert_eq!(u[0].overallocated_days, 1);
        assert_eq!(u[0].unit, Unit::Hours);
        let over = overallocations(&resources, &allocations, range("2030-03-01", "2030-03-05"));
        assert_eq!(over.len(), 1);
        assert_eq!((over[0].date, over[0].excess), (day("2030-03-03"), 2));
    }

    proptest! {
        #[test]
        fn utilization_per_resource_day_is_the_sum_of_overlapping_allocations(
            resources in gen_resources(),
            allocations in gen_allocations(),
            r in gen_range(),
        ) {
            let u = utilization(&resources, &allocations, r);
            prop_assert_eq!(u.len(), resources.len());
            for (res, ru) in resources.iter().zip(&u) {
                prop_assert_eq!(ru.days.len() as i64, r.len_days());
                for d in &ru.days {
                    let expected: i64 = allocations
                        .iter()
                        .filter(|a| a.resource_id == res.id && a.days.contains(d.date))
                        .map(|a| a.amount_per_day.value())
                        .sum();
                    prop_assert_eq!(d.allocated, expected);
                    prop_assert_eq!(d.capacity, res.capacity_per_day.value());
                    prop_assert!((d.ratio - expected as f64 / d.capacity as f64).abs() < 1e-12);
                }
            }
        }
    }
}
