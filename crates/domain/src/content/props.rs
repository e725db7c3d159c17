//! Property tests of the content state machine: whatever sequence of edits,
//! submits, decisions, schedules, publishes and withdrawals by whoever, nothing is
//! approved, scheduled or published unless every stage approved the current hash
//! (or the system approved a clean item on an auto-approvable workflow), an edit
//! after approval voids it, and a refused operation changes nothing.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

const USERS: [&str; 5] = ["author", "u1", "u2", "u3", "u4"];
const ROLES: [StageRole; 4] = [
    StageRole::BrandReviewer,
    StageRole::ComplianceReviewer,
    StageRole::Operations,
    StageRole::Marketing,
];

#[derive(Debug, Clone)]
enum Op {
    Edit(u8),
    EditDue,
    Submit,
    Decide {
        user: usize,
        roles: u8,
        approve: bool,
        stage: Option<usize>,
    },
    Schedule,
    Publish,
    Withdraw,
    Refresh(u8),
    Move,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4).prop_map(Op::Edit),
        Just(Op::EditDue),
        Just(Op::Submit),
        Just(Op::Submit),
        (
            0usize..USERS.len(),
            0u8..16,
            prop::bool::weighted(0.85),
            prop::option::of(0usize..4)
        )
            .prop_map(|(user, roles, approve, stage)| Op::Decide {
                user,
                roles,
                approve,
                stage
            }),
        (
            0usize..USERS.len(),
            0u8..16,
            prop::bool::weighted(0.85),
            prop::option::of(0usize..4)
        )
            .prop_map(|(user, roles, approve, stage)| Op::Decide {
                user,
                roles,
                approve,
                stage
            }),
        Just(Op::Schedule),
        Just(Op::Publish),
        (0u8..3).prop_map(Op::Refresh),
        Just(Op::Move),
        (0u8..10).prop_map(|n| if n == 0 { Op::Withdraw } else { Op::Submit }),
    ]
}

fn stage(name: &str, role: StageRole) -> StageDef {
    StageDef {
        name: name.into(),
        role,
        rule: CompletionRule::One,
        n: None,
        approvers: vec![],
        parallel: false,
    }
}

fn workflows() -> Vec<Workflow> {
    let mut quorum = stage("legal", StageRole::ComplianceReviewer);
    quorum.rule = CompletionRule::NOfM;
    quorum.n = Some(2);
    quorum.approvers = vec!["u1".into(), "u2".into(), "u3".into()];
    quorum.parallel = true;
    let mut all = stage("ops", StageRole::Operations);
    all.rule = CompletionRule::All;
    all.approvers = vec!["u2".into(), "u4".into()];
    vec![
        Workflow::default(),
        Workflow {
            stages: vec![stage("brand", StageRole::BrandReviewer), quorum, all],
            auto_approve: false,
        },
        Workflow {
            stages: vec![],
            auto_approve: true,
        },
        Workflow {
            stages: vec![stage("brand", StageRole::BrandReviewer)],
            auto_approve: true,
        },
    ]
}

fn at(i: usize) -> DateTime<Utc> {
    Utc.timestamp_opt(1_900_000_000 + i as i64 * 60, 0)
        .single()
        .unwrap_or_default()
}

/// An oracle written apart from `approvals_complete`: recounts from the decisions.
fn independently_approved(item: &ContentItem) -> bool {
    let (Some(w), Some(a)) = (&item.workflow, &item.approval) else {
        return false;
    };
    if a.content_hash != item.content_hash {
        return false;
    }
    match a.by {
        ApprovedBy::System => {
            w.auto_approve && item.checks.passed && item.checks.content_hash == item.content_hash
        }
        ApprovedBy::Workflow => {
            !w.stages.is_empty()
                && w.stages.iter().all(|s| {
                    let mut who: Vec<&str> = item
                        .decisions
                        .iter()
                        .filter(|d| {
                            d.stage == s.name
                                && d.outcome == Outcome::Approve
                                && d.content_hash == item.content_hash
                                && d.round == item.round
                                && d.role == s.role
                                && !item.editors.contains(&d.approver)
                                && (s.approvers.is_empty() || s.approvers.contains(&d.approver))
                        })
                        .map(|d| d.approver.as_str())
                        .collect();
                    crate::sort::sort(&mut who);
                    who.dedup();
                    who.len() >= s.needed()
                })
        }
    }
}

fn new_item(standard: Standard<'_>) -> ContentItem {
    let input = NewContent {
        campaign_id: Some("c1".into()),
        channel: Some("web".into()),
        title: Some("Title".into()),
        body: Some("Hello".into()),
        ..Default::default()
    };
    match ContentItem::create("i1", input, &[], "author", at(0), standard) {
        Ok((item, _)) => item,
        Err(e) => panic!("valid input refused: {e}"),
    }
}

/// Performs `op` (the `i`-th of the sequence) on `item` at `now`.
fn apply(
    item: &mut ContentItem,
    op: &Op,
    i: usize,
    now: DateTime<Utc>,
    std: Standard<'_>,
    workflow: &Workflow,
) -> Result<Changed, ContentError> {
    match op {
        Op::Edit(v) => {
            let body = match v {
                0 => format!("Hello {i}"),
                1 => String::new(),
                2 => "see http://x.test".into(),
                _ => "Hello".into(),
            };
            let patch = ContentPatch {
                body: Some(body),
                ..Default::default()
            };
            let editor = if i.is_multiple_of(3) { "u4" } else { "author" };
            item.apply_patch(patch, editor, now, std, workflow)
        }
        Op::EditDue => {
            let patch = ContentPatch {
                due: Some(Some("2031-01-01T00:00:00Z".into())),
                ..Default::default()
            };
            item.apply_patch(patch, "author", now, std, workflow)
        }
        Op::Submit => item.submit("author", now, workflow),
        Op::Decide {
            user,
            roles,
            approve,
            stage,
        } => decide(item, *user, *roles, *approve, *stage, now),
        Op::Schedule => item.schedule(
            ScheduledSend {
                at: now,
                slot_hour: 0,
                picked: Picked::Auto,
                moved: None,
            },
            "olga",
            now,
        ),
        Op::Publish => item.publish("olga", now),
        Op::Withdraw => item.withdraw("author", now),
        Op::Refresh(t) => {
            let request = RefreshRequest {
                reason: "engagement dropped".into(),
                trigger_id: (*t > 0).then(|| format!("T{t}")),
                variant: *t == 2,
            };
            item.request_refresh(request, "olga", now, std, workflow)
        }
        Op::Move => item.move_send(
            ScheduledSend {
                at: now,
                slot_hour: 3_600 * (i as i64 + 1),
                picked: Picked::Auto,
                moved: Some(SendMove {
                    from: now,
                    from_slot: 0,
                    trigger_id: Some("T9".into()),
                    reason: "bounces".into(),
                }),
            },
            "olga",
            now,
        ),
    }
}

/// User `user`, holding the roles whose bits are set in `roles`, decides stage
/// `stage` of the item's workflow (or leaves the stage out).
fn decide(
    item: &mut ContentItem,
    user: usize,
    roles: u8,
    approve: bool,
    stage: Option<usize>,
    now: DateTime<Utc>,
) -> Result<Changed, ContentError> {
    let decider = Decider {
        sub: USERS[user].into(),
        roles: ROLES
            .iter()
            .enumerate()
            .filter(|(b, _)| roles & (1 << b) != 0)
            .map(|(_, r)| *r)
            .collect(),
    };
    let stage = stage.and_then(|s| {
        item.workflow
            .as_ref()
            .and_then(|w| w.stages.get(s))
            .map(|s| s.name.clone())
    });
    let input = ReviewDecisionInput {
        outcome: Some(
            if approve {
                "approve"
            } else {
                "request_changes"
            }
            .into(),
        ),
        comment: Some("c".into()),
        stage,
        content_hash: None,
    };
    item.decide(input, &decider, now)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn nothing_is_approved_scheduled_or_published_without_approval_of_the_current_hash(
        wf in 0usize..4,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let standard = BrandStandard::default();
        let std = Standard { standard: &standard, version: 0 };
        let workflow = workflows().swap_remove(wf);
        let mut item = new_item(std);
        for (i, op) in ops.into_iter().enumerate() {
            let now = at(i + 1);
            let before = item.clone();
            let result = apply(&mut item, &op, i, now, std, &workflow);
            match result {
                Err(_) => prop_assert_eq!(&item, &before, "a refused {:?} changed the item", op),
                Ok(_) => {
                    if matches!(op, Op::Edit(_)) && item.content_hash != before.content_hash
                        && before.approval.is_some()
                    {
                        // Any edit after approval voids it: no decision of the new round exists,
                        // and only a system approval of the new hash may stand.
                        prop_assert_eq!(item.current_decisions().count(), 0);
                        prop_assert!(item.approval.as_ref().is_none_or(|a| a.by == ApprovedBy::System
                            && a.content_hash == item.content_hash));
                        prop_assert!(item.scheduled.is_none());
                    }
                }
            }
            if matches!(item.state, ContentState::Approved | ContentState::Scheduled | ContentState::Published) {
                prop_assert!(independently_approved(&item), "{:?} without approval after {:?}", item.state, op);
                prop_assert!(item.approvals_complete());
            }
            if let Some(r) = item.refresh.as_ref().filter(|r| r.is_open()) {
                // An open refresh has voided the approval it found: nothing it
                // opened is approved until its round (or a later one) is.
                prop_assert!(r.round <= item.round);
                prop_assert!(!matches!(item.state, ContentState::Approved | ContentState::Scheduled | ContentState::Published));
            }
            if item.state == ContentState::Published {
                prop_assert_eq!(before.state == ContentState::Scheduled || before.state == ContentState::Published, true);
            }
            prop_assert!(item.decisions.iter().all(|d| !item.editors.contains(&d.approver)
                || d.round < item.round || d.content_hash != item.content_hash));
        }
    }
}

#[test]
fn full_path_with_three_stages_and_distinct_people() {
    let standard = BrandStandard::default();
    let std = Standard {
        standard: &standard,
        version: 0,
    };
    let w = Workflow::default();
    let mut item = new_item(std);
    item.submit("author", at(1), &w).expect("submits");
    assert_eq!(item.state, ContentState::InReview);
    let who = |sub: &str, role| Decider {
        sub: sub.into(),
        roles: vec![role],
    };
    let approve = || ReviewDecisionInput {
        outcome: Some("approve".into()),
        ..Default::default()
    };
    // The author may never decide, whatever roles they hold.
    let author = Decider {
        sub: "author".into(),
        roles: ROLES.to_vec(),
    };
    assert!(matches!(
        item.decide(approve(), &author, at(2)),
        Err(ContentError::Forbidden(_))
    ));
    // Stages open in order.
    assert!(matches!(
        item.decide(approve(), &who("ops", StageRole::Operations), at(2)),
        Err(ContentError::Forbidden(_))
    ));
    item.decide(approve(), &who("bree", StageRole::BrandReviewer), at(2))
        .expect("brand");
    assert!(matches!(
        item.decide(approve(), &who("bree", StageRole::BrandReviewer), at(3)),
        Err(ContentError::Conflict {
            code: "stage-complete" | "already-decided",
            ..
        })
    ));
    item.decide(
        approve(),
        &who("cole", StageRole::ComplianceReviewer),
        at(3),
    )
    .expect("compliance");
    item.decide(approve(), &who("olga", StageRole::Operations), at(4))
        .expect("ops");
    assert_eq!(item.state, ContentState::Approved);
    let changed = item
        .apply_patch(
            ContentPatch {
                body: Some("Hello again".into()),
                ..Default::default()
            },
            "author",
            at(5),
            std,
            &w,
        )
        .expect("edit");
    assert_eq!(item.state, ContentState::InReview);
    assert!(item.approval.is_none());
    assert!(
        changed
            .events
            .iter()
            .any(|e| e.action == "content.reopened")
    );
}

#[test]
fn stored_items_expose_the_fields_other_areas_read() {
    let standard = BrandStandard::default();
    let item = new_item(Standard {
        standard: &standard,
        version: 0,
    });
    let v = serde_json::to_value(&item).unwrap_or_default();
    for k in [
        "id",
        "channel",
        "state",
        "due",
        "campaign_id",
        "content_hash",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(v["state"], "draft");
}

#[test]
fn an_edit_after_changes_were_requested_voids_the_round_even_if_the_hash_comes_back() {
    let standard = BrandStandard::default();
    let std = Standard {
        standard: &standard,
        version: 0,
    };
    let w = Workflow::default();
    let mut item = new_item(std);
    item.submit("author", at(1), &w).expect("submits");
    let decider = |sub: &str, role| Decider {
        sub: sub.into(),
        roles: vec![role],
    };
    let verdict = |outcome: &str| ReviewDecisionInput {
        outcome: Some(outcome.into()),
        comment: Some("c".into()),
        ..Default::default()
    };
    item.decide(
        verdict("approve"),
        &decider("u4", StageRole::BrandReviewer),
        at(2),
    )
    .expect("brand");
    item.decide(
        verdict("request_changes"),
        &decider("u1", StageRole::ComplianceReviewer),
        at(3),
    )
    .expect("changes");
    let edit = |body: &str| ContentPatch {
        body: Some(body.into()),
        ..Default::default()
    };
    item.apply_patch(edit("Hello there"), "u4", at(4), std, &w)
        .expect("u4 edits");
    item.apply_patch(edit("Hello"), "author", at(5), std, &w)
        .expect("back to the reviewed text");
    assert!(item.editors.contains(&"u4".to_string()));
    assert_eq!(
        item.current_decisions().count(),
        0,
        "an editor's earlier approval never counts again"
    );
}
