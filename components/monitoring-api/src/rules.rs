//! Rules: `/api/evaluations/rules`. Everyone authenticated reads; operations write.
//! The shipped defaults are installed the first time rules are read or written.

use opsflow_api::response::{check_version, json_value};
use opsflow_api::{ApiRequest, ApiResponse, Principal, Problem, ids, paging};
use opsflow_domain::monitoring::{Category, Rule, RuleInput};
use opsflow_edge::Ctx;
use opsflow_store::keys::monitoring as keys;
use opsflow_store::monitoring::load_rules;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Kv, Records, UpdateError, Versioned};
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

pub async fn list(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv) = (&ctx.req, &ctx.kv);
    let limit = paging::limit(req.query("limit"))?;
    let rules = load_rules(kv, crate::now()).await?;
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
    load_rules(kv, crate::now()).await?;
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
    let now = crate::now();
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
    opsflow_store::IdSet::new(kv, keys::rule_index())
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
    let now = crate::now();
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
    load_rules(kv, crate::now()).await?;
    let records = Records::new(kv);
    let Some(current) = records.get::<Rule>(&keys::rule(id)).await? else {
        return Err(Problem::not_found(format!("no rule {id}")));
    };
    if let Some(sent) = sent {
        check_version(sent, current.version)?;
    }
    opsflow_store::IdSet::new(kv, keys::rule_index())
        .remove(id)
        .await?;
    kv.delete(keys::rule(id).as_str()).await?;
    Ok(ApiResponse::empty(204))
}
