//! The OpenAPI 3.1 document served at `/v1/openapi.json`, generated from the typed handlers
//! ([`crate::typed_routes`]: each handler's `#[utoipa::path]` and the [`crate::wire`] types) and completed
//! with what every operation may answer: 401 on admin routes, 429 everywhere, 400 for a parameter or body
//! that does not parse, 413 and 415 for a body.

use serde_json::{json, Map, Value};

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn errors(codes: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    for c in codes {
        let what = match *c {
            "400" => "Invalid request: `error.field` names the bad field",
            "401" => "Missing or wrong admin token",
            "404" => "Unknown knowledge base, source or job",
            "409" => "Conflict with the current state",
            "413" => "Body over the size limit",
            "415" => "Body is not `application/json`",
            "429" => "Rate limited",
            _ => "Error",
        };
        m.insert(c.to_string(), ok(what, json!({"$ref": "#/components/schemas/Error"})));
    }
    m
}

/// The document.
pub fn document() -> Value {
    let generated = serde_json::to_value(crate::typed_routes().split_for_parts().1).unwrap_or(Value::Null);
    let public = crate::public_paths();
    let mut paths = generated["paths"].as_object().cloned().unwrap_or_default();
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else { continue };
        for operation in ops.values_mut() {
            complete(operation, public.contains(path));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Throughline API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Build a knowledge base from documents or a site, search it, and run the customer agent on it. Every route but health, this document and the public chat needs the admin token as a bearer token."
        },
        "servers": [{"url": "/"}],
        "security": [{"adminToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
            "schemas": generated["components"]["schemas"].clone(),
        }
    })
}

/// Adds what every operation may answer: 401 on admin routes, 429 everywhere, 400 when it takes
/// parameters or a body, 413 and 415 when it takes a body; and an empty `security` on public routes.
/// Statuses the handler documents itself (the OpenAI routes' errors in OpenAI's shape, MCP's JSON-RPC
/// errors) are kept.
fn complete(operation: &mut Value, public: bool) {
    // A path or query parameter that does not parse (an id that is not 16 hex digits) is a 400.
    let has_params = operation["parameters"].as_array().is_some_and(|ps| !ps.is_empty());
    let has_body = operation.get("requestBody").is_some();
    let mut extra = vec!["429"];
    if !public {
        extra.push("401");
    }
    if has_params || has_body {
        extra.push("400");
    }
    if has_body {
        extra.extend(["413", "415"]);
    }
    let Some(responses) = operation["responses"].as_object_mut() else { return };
    for (code, mut response) in errors(&extra) {
        if code == "429" {
            response["headers"] =
                json!({"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}});
        }
        responses.entry(code).or_insert(response);
    }
    if public {
        operation["security"] = json!([]);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_every_operation_has_a_unique_id() {
        let doc = super::document();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in &all {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(doc["components"]["schemas"].get(name).is_some(), "{r} does not resolve");
        }
        let mut ids: Vec<&str> = doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
            .filter_map(|ops| ops.as_object())
            .flat_map(|ops| ops.values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let n = ids.len();
        assert_eq!(n, crate::api_routes().len(), "every operation has an id");
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "operation ids repeat");
        // Every operation has an id and its error statuses.
        // Enumerations come from the domain's lists.
        let page_types = doc["components"]["schemas"]["PageType"]["enum"].as_array().map(Vec::len);
        assert_eq!(page_types, Some(throughline_core::PageType::ALL.len()));
        let search = &doc["paths"]["/v1/kbs/{kb}/search"]["post"];
        assert_eq!(search["operationId"], "search");
        for code in ["200", "400", "401", "404", "413", "415", "429"] {
            assert!(search["responses"].get(code).is_some(), "search documents {code}");
        }
    }
    #[test]
    fn every_operation_has_a_summary_a_success_schema_its_errors_and_its_security() {
        let doc = super::document();
        let public = crate::public_paths();
        assert!(public.contains(&"/v1/agents/{agent}/chat".to_string()) && !public.contains(&"/v1/kbs".to_string()));
        for (method, path) in crate::api_routes() {
            let op = &doc["paths"][path.as_str()][method.as_str()];
            let at = format!("{method} {path}");
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{at}: no summary");
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{at}: no tag");
            let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{at}: no responses"));
            assert!(responses.contains_key("429"), "{at}: 429 undocumented");
            if public.contains(&path) {
                assert_eq!(op["security"], serde_json::json!([]), "{at}: a public route needs no token");
                assert!(
                    !responses.contains_key("401")
                        || path.contains("agent")
                        || path.contains("model")
                        || path.contains("chat")
                );
            } else {
                assert!(op.get("security").is_none(), "{at}: an admin route keeps the document's security");
                assert!(responses.contains_key("401"), "{at}: 401 undocumented");
            }
            // What a success answers is described (a body's schema, or why there is none).
            let success = responses
                .iter()
                .find(|(code, _)| code.starts_with('2') || (path == "/mcp" && method == "get"))
                .unwrap_or_else(|| panic!("{at}: no success status"));
            assert!(success.1["description"].as_str().is_some_and(|d| !d.is_empty()), "{at}: {success:?}");
            for (media, content) in success.1["content"].as_object().into_iter().flatten() {
                assert!(content.get("schema").is_some(), "{at}: {media} without a schema");
                // This document's own schema is the OpenAPI specification's.
                if path == "/v1/openapi.json" {
                    continue;
                }
                assert_ne!(content["schema"], serde_json::json!({"type": "object"}), "{at}: a bare object schema");
            }
            if op.get("requestBody").is_some() {
                for code in ["400", "413", "415"] {
                    assert!(responses.contains_key(code), "{at}: {code} undocumented");
                }
            }
        }
    }
}
