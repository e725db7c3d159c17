//! Rules: `/api/evaluations/rules`. Everyone authenticated reads; operations write.
//! The shipped defaults are installed the first time rules are read or written.

use std::collections::BTreeSet;

use opsflow_api::response::{check_version, json_value};
use opsflow_api::{ApiRequest, ApiResponse, Principal, Problem, ids, paging};
use opsflow_domain::monitoring::{Category, Rule, RuleInput, default_rules};
use opsflow_edge::Ctx;
use opsflow_store::keys::monitoring as keys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Kv, Records, StoreError, UpdateError, Versioned, encode_record};
use serde::Serialize;

/// A rule with its version (the ETag).
#[derive(Serialize)]
struct RuleView<'a> {
    #[serde(flatten)]
    rule: &'a Rule,
    version: u64,
}

fn view(v: &Versioned<Rule>) -> ApiResponse {
    ApiResponse::json(
        200,
        &RuleView {
            rule: &v.value,
            version: v.version,
        },
    )
    .with_etag(v.version)
}

/// Every rule, installing the defaults on first use. Two reads once installed.
pub async fn load_rules<K: Kv>(kv: &K, now: i64) -> Result<Vec<Versioned<Rule>>, StoreError> {
    let ids = match opsflow_store::Index::new(kv, keys::rule_index())
        .stored_ids()
        .await?
    {
        Some(ids) => ids,
        None => install_defaults(kv, now).await?,
    };
    let keys: Vec<_> = ids.iter().map(|id| keys::rule(id)).collect();
    Records::new(kv).get_many(&keys).await
}

async fn install_defaults<K: Kv>(kv: &K, now: i64) -> Result<Vec<String>, StoreError> {
    let defaults = default_rules(now);
    let pairs: Vec<(String, Vec<u8>)> = defaults
        .iter()
        .map(|r| encode_record(1, r).map(|b| (keys::rule(&r.id).as_str().to_string(), b)))
        .collect::<Result<_, _>>()?;
    let mut ids = BTreeSet::new();
    ids.extend(defaults.iter().map(|r| r.id.clone()));
    // The index is created with compare-and-swap after the rules exist: whoever
    // wins, the rules it names are there. A loser reads the winner's index.
    let index = opsflow_store::Index::new(kv, keys::rule_index());
    if index.stored_ids().await?.is_none() {
        kv.set_many(&pairs).await?;
        index.create(&ids).await?;
    }
    Ok(index
        .stored_ids()
        .await?
        .unwrap_or_else(|| ids.into_iter().collect()))
}

pub async fn list(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv) = (&ctx.req, &ctx.kv);
    let limit = paging::limit(req.query("limit"))?;
    let rules = load_rules(kv, crate::wall_secs()).await?;
    let category = match req.query("category") {
        None => None,
        Some(c) => Some(
            Category::ALL
                .into_iter()
                .find(|k| k.as_str() == c)
                .ok_or_else(|| {
                    Problem::bad_request(format!(
                        "category must be one of {}",
                        Category::ALL.map(Category::as_str).join(", ")
                    ))
                })?,
        ),
    };
    let items = rules
        .iter()
        .filter(|v| category.is_none_or(|c| v.value.category == c))
        .map(|v| {
            json_value(&RuleView {
                rule: &v.value,
                version: v.version,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let page = paging::page(
        items,
        |v| v["id"].as_str().unwrap_or_default(),
        req.query("cursor"),
        limit,
    );
    Ok(ApiResponse::json(200, &page))
}

pub async fn get(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (id, kv) = (ctx.id(), &ctx.kv);
    load_rules(kv, crate::wall_secs()).await?;
    match Records::new(kv).get::<Rule>(&keys::rule(id)).await? {
        Some(v) => Ok(view(&v)),
        None => Err(Problem::not_found(format!("no rule {id}"))),
    }
}

pub async fn create(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv, who) = (&ctx.req, &ctx.kv, &ctx.who);
    Ok(
        opsflow_api::idempotency::run(kv, "evaluation-rules", &who.sub, req, || async {
            create_inner(kv, req, who)
                .await
                .unwrap_or_else(ApiResponse::from)
        })
        .await,
    )
}

async fn create_inner(
    kv: &SpinKv,
    req: &ApiRequest,
    who: &Principal,
) -> Result<ApiResponse, Problem> {
    let input: RuleInput = req.json()?;
    let now = crate::wall_secs();
    let rule = input
        .parse(ids::new_id()?, &who.sub, now)
        .map_err(Problem::from)?;
    load_rules(kv, now).await?;
    let records = Records::new(kv);
    if !records.create(&keys::rule(&rule.id), &rule).await? {
        return Err(Problem::conflict(
            "rule-exists",
            "a rule with this id exists; retry",
        ));
    }
    opsflow_store::Index::new(kv, keys::rule_index())
        .add(&rule.id)
        .await?;
    let stored = Versioned {
        version: 1,
        value: rule,
    };
    let mut resp = view(&stored);
    resp.status = 201;
    Ok(resp.with_header(
        "location",
        format!("/api/evaluations/rules/{}", stored.value.id),
    ))
}

pub async fn replace(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, id, kv) = (&ctx.req, ctx.id(), &ctx.kv);
    let sent = req.require_if_match()?;
    let input: RuleInput = req.json()?;
    let now = crate::wall_secs();
    load_rules(kv, now).await?;
    let result = Records::new(kv)
        .update(&keys::rule(id), |cur: Versioned<Rule>| {
            check_version(sent, cur.version)?;
            cur.value.replace(input.clone(), now).map_err(Problem::from)
        })
        .await;
    match result {
        Ok(v) => Ok(view(&v)),
        Err(UpdateError::NotFound) => Err(Problem::not_found(format!("no rule {id}"))),
        Err(UpdateError::Refused(p)) => Err(p),
        Err(UpdateError::Store(e)) => Err(e.into()),
    }
}

pub async fn delete(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, id, kv) = (&ctx.req, ctx.id(), &ctx.kv);
    let sent = req.if_match()?;
    load_rules(kv, crate::wall_secs()).await?;
    let records = Records::new(kv);
    let Some(current) = records.get::<Rule>(&keys::rule(id)).await? else {
        return Err(Problem::not_found(format!("no rule {id}")));
    };
    if let Some(sent) = sent {
        check_version(sent, current.version)?;
    }
    opsflow_store::Index::new(kv, keys::rule_index())
        .remove(id)
        .await?;
    kv.delete(keys::rule(id).as_str()).await?;
    Ok(ApiResponse::empty(204))
}
