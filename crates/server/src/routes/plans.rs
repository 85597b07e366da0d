//! A knowledge base's plan catalogue: what extraction found on the pricing pages, and the hand-edited
//! catalogue that replaces it (kept across re-ingestion until removed). Saving an edit can also give
//! every agent over the knowledge base a new configuration version quoting the edited plans.

use axum::extract::State;
use serde_json::{Map, Value};
use throughline_agent::{Agent, AgentConfig};
use throughline_core::{BillingPeriod, KbInfo, Plan, PlanLimit, PlanPrice};

use crate::agents::blocking;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::routes::kbs::existing_kb;
use crate::wire::{AgentVersionRef, Catalogue, CatalogueEdit, ErrorBody, PlanView};
use crate::AppState;

/// Most plans a catalogue may hold.
const MAX_PLANS: usize = 50;
/// Most prices, limits or features a plan may hold.
const MAX_ITEMS: usize = 100;
/// Longest text of any one field, in characters.
const MAX_TEXT: usize = 2_000;

fn catalogue(state: &AppState, kb: &KbInfo) -> ApiResult<Catalogue> {
    let edited_at = state.0.store.plans_edited_at(kb.id)?;
    let extracted = state.0.store.extracted_plans(kb.id)?;
    let plans = if edited_at.is_some() { state.0.store.plans(kb.id)? } else { extracted.clone() };
    Ok(Catalogue {
        kb: kb.name.clone(),
        plans: plans.iter().map(PlanView::from).collect(),
        edited: edited_at.is_some(),
        edited_at,
        extracted: extracted.iter().map(PlanView::from).collect(),
        agents_updated: None,
    })
}

/// `GET /v1/kbs/{kb}/plans`: the catalogue the agents quote (edited or extracted), and what extraction
/// found.
#[utoipa::path(get, path = "/v1/kbs/{kb}/plans", operation_id = "get_plans", tag = "agents",
    params(("kb" = String, Path, description = "Knowledge base name or id")),
    summary = "The plan catalogue the agents quote (hand-edited, else extracted from the pricing pages), with what extraction found",
    responses((status = 200, description = "The catalogue", body = Catalogue),
        (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, ApiPath(kb): ApiPath<String>) -> ApiResult<ApiJson<Catalogue>> {
    let info = existing_kb(&state, &kb)?;
    Ok(ApiJson(catalogue(&state, &info)?))
}

/// `PUT /v1/kbs/{kb}/plans` with `{"plans": [...], "update_agents": true}`: replaces the catalogue by
/// an edited one. With `update_agents` (the default), every agent over this knowledge base whose plans
/// differ gets a new configuration version quoting the edited plans. The body is read field by field so
/// an error names the exact field (`plans[1].prices[0].amount`); its schema is [`CatalogueEdit`].
#[utoipa::path(put, path = "/v1/kbs/{kb}/plans", operation_id = "put_plans", tag = "agents",
    params(("kb" = String, Path, description = "Knowledge base name or id")), request_body = CatalogueEdit,
    summary = "Replace the catalogue by an edited one; with update_agents (default true) agents over the knowledge base get a new version quoting it",
    responses((status = 200, description = "The catalogue, with the agents updated", body = Catalogue),
        (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    ApiPath(kb): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<ApiJson<Catalogue>> {
    let info = existing_kb(&state, &kb)?;
    let obj = body.as_object().ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "plans" | "update_agents")) {
        return Err(ApiError::invalid(k, format!("unknown field `{k}`; expected `plans` or `update_agents`")));
    }
    let update_agents = match obj.get("update_agents") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("update_agents", "must be true or false")),
    };
    let plans = parse_plans(obj.get("plans").ok_or_else(|| ApiError::invalid("plans", "is required"))?)?;
    // Every agent's new configuration is checked before anything is written.
    let agents = if update_agents { agents_with_plans(&state, &info.name, &plans).await? } else { Vec::new() };
    state.0.store.set_plan_edits(info.id, Some(&plans))?;
    let updated = save_agents(&state, agents).await?;
    Ok(ApiJson(Catalogue { agents_updated: Some(updated), ..catalogue(&state, &info)? }))
}

/// `DELETE /v1/kbs/{kb}/plans`: drops the edit; the extracted plans apply again (agents keep the plans
/// of their current version until edited).
#[utoipa::path(delete, path = "/v1/kbs/{kb}/plans", operation_id = "delete_plans", tag = "agents",
    params(("kb" = String, Path, description = "Knowledge base name or id")),
    summary = "Drop the edited catalogue: the extracted plans apply again",
    responses((status = 200, description = "The catalogue", body = Catalogue),
        (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
pub async fn delete(State(state): State<AppState>, ApiPath(kb): ApiPath<String>) -> ApiResult<ApiJson<Catalogue>> {
    let info = existing_kb(&state, &kb)?;
    state.0.store.set_plan_edits(info.id, None)?;
    Ok(ApiJson(catalogue(&state, &info)?))
}

/// The configuration of every agent over `kb` whose plans differ, with the plans replaced and the result
/// validated.
async fn agents_with_plans(state: &AppState, kb: &str, plans: &[Plan]) -> ApiResult<Vec<(String, AgentConfig)>> {
    // The agent's expansion stage reads its catalogue cheapest first.
    let mut plans = plans.to_vec();
    Plan::sort_cheapest_first(&mut plans);
    let st = state.clone();
    let kb = kb.to_string();
    blocking(move || {
        let memory = st.0.memory.as_ref();
        let mut out = Vec::new();
        for a in memory.agents()? {
            let (_, mut config) = Agent::load_config(memory, &a.name, None)?;
            if !config.knowledge_bases.contains(&kb) || config.expansion.plans == plans {
                continue;
            }
            config.expansion.plans = plans.clone();
            config.validate(&format!("agent `{}`", a.name))?;
            out.push((a.name, config));
        }
        Ok(out)
    })
    .await
}

/// Saves each configuration as a new version; returns the name and new version of each.
async fn save_agents(state: &AppState, agents: Vec<(String, AgentConfig)>) -> ApiResult<Vec<AgentVersionRef>> {
    let st = state.clone();
    blocking(move || {
        let mut out = Vec::new();
        for (name, config) in agents {
            let saved = Agent::save(st.0.memory.as_ref(), &name, &config)?;
            out.push(AgentVersionRef { name: saved.name, version: saved.version });
        }
        Ok(out)
    })
    .await
}

/// Reads a catalogue in the shape `GET` returns (a price's `display` is ignored), naming the field of
/// any error (`plans[1].prices[0].amount`).
pub fn parse_plans(v: &Value) -> ApiResult<Vec<Plan>> {
    let items = v.as_array().ok_or_else(|| ApiError::invalid("plans", "must be an array of plans"))?;
    if items.len() > MAX_PLANS {
        return Err(ApiError::invalid("plans", format!("has {} plans, over the limit of {MAX_PLANS}", items.len())));
    }
    let mut out: Vec<Plan> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("plans[{i}]");
        let o = object(item, &at, &["name", "prices", "limits", "features", "source_path"])?;
        let name = text(o, &at, "name", true)?;
        let source_path = match o.get("source_path") {
            None | Some(Value::Null) => String::new(),
            Some(_) => text(o, &at, "source_path", false)?,
        };
        // Two pricing pages may each list a plan of the same name; one page may not list it twice.
        if out.iter().any(|p| p.name.eq_ignore_ascii_case(&name) && p.source_path == source_path) {
            return Err(ApiError::invalid(&format!("{at}.name"), format!("plan `{name}` appears twice")));
        }
        let mut prices = Vec::new();
        for (j, p) in list(o, &at, "prices")?.iter().enumerate() {
            let pat = format!("{at}.prices[{j}]");
            let po = object(p, &pat, &["amount", "currency", "period", "display"])?;
            // `display` is what GET shows; sent back it is ignored, but it is still a string.
            if po.get("display").is_some_and(|d| !d.is_string()) {
                return Err(ApiError::invalid(&format!("{pat}.display"), "must be a string (it is ignored)"));
            }
            let amount = po
                .get("amount")
                .and_then(Value::as_f64)
                .filter(|a| a.is_finite() && *a >= 0.0)
                .ok_or_else(|| ApiError::invalid(&format!("{pat}.amount"), "must be a number ≥ 0"))?;
            // Extraction leaves the currency empty when a page shows none (a free plan's "0").
            let currency = text(po, &pat, "currency", false)?;
            let period = match po.get("period") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(match s.as_str() {
                    "month" => BillingPeriod::Month,
                    "year" => BillingPeriod::Year,
                    "once" => BillingPeriod::Once,
                    other => {
                        return Err(ApiError::invalid(
                            &format!("{pat}.period"),
                            format!("`{other}` is not a period; use month, year, once or null"),
                        ))
                    }
                }),
                Some(_) => return Err(ApiError::invalid(&format!("{pat}.period"), "must be a string or null")),
            };
            prices.push(PlanPrice { amount, currency, period });
        }
        let mut limits = Vec::new();
        for (j, l) in list(o, &at, "limits")?.iter().enumerate() {
            let lat = format!("{at}.limits[{j}]");
            let lo = object(l, &lat, &["name", "value"])?;
            limits.push(PlanLimit { name: text(lo, &lat, "name", true)?, value: text(lo, &lat, "value", true)? });
        }
        let mut features = Vec::new();
        for (j, f) in list(o, &at, "features")?.iter().enumerate() {
            let fat = format!("{at}.features[{j}]");
            let f = f.as_str().map(str::trim).ok_or_else(|| ApiError::invalid(&fat, "must be a string"))?;
            if f.is_empty() || f.chars().count() > MAX_TEXT {
                return Err(ApiError::invalid(&fat, format!("must be 1 to {MAX_TEXT} characters")));
            }
            features.push(f.to_string());
        }
        out.push(Plan { name, prices, limits, features, source_path });
    }
    Ok(out)
}

fn object<'a>(v: &'a Value, at: &str, allowed: &[&str]) -> ApiResult<&'a Map<String, Value>> {
    let o = v.as_object().ok_or_else(|| ApiError::invalid(at, "must be an object"))?;
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            &format!("{at}.{k}"),
            format!("unknown field `{k}`; expected one of {}", allowed.join(", ")),
        ));
    }
    Ok(o)
}

fn list<'a>(o: &'a Map<String, Value>, at: &str, key: &str) -> ApiResult<&'a [Value]> {
    let items: &[Value] = match o.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ApiError::invalid(&format!("{at}.{key}"), "must be an array")),
    };
    if items.len() > MAX_ITEMS {
        return Err(ApiError::invalid(&format!("{at}.{key}"), format!("has more than {MAX_ITEMS} items")));
    }
    Ok(items)
}

fn text(o: &Map<String, Value>, at: &str, key: &str, required: bool) -> ApiResult<String> {
    let field = format!("{at}.{key}");
    let s = match o.get(key) {
        Some(Value::String(s)) => s.trim(),
        None | Some(Value::Null) if !required => "",
        None | Some(Value::Null) => return Err(ApiError::invalid(&field, "is required")),
        Some(_) => return Err(ApiError::invalid(&field, "must be a string")),
    };
    if (required && s.is_empty()) || s.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid(&field, format!("must be 1 to {MAX_TEXT} characters")));
    }
    Ok(s.to_string())
}
