//! The OpenAPI 3.1 document served at `/v1/openapi.json`. Written by hand next to the routes; a test
//! checks that every route of [`crate::ROUTES`] is documented and nothing else is.

use serde_json::{json, Map, Value};

fn path_param(name: &str, what: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}, "description": what})
}

fn query_param(name: &str, ty: &str, what: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": {"type": ty}, "description": what})
}

/// `params` plus the `limit` and `offset` of a paged list (`crate::paging`).
fn paged(mut params: Vec<Value>) -> Vec<Value> {
    params.push(query_param("limit", "integer", "Items to return (the whole list when absent; at most 1,000)"));
    params.push(query_param("offset", "integer", "Items to skip"));
    params
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

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
        m.insert(c.to_string(), ok(what, reference("Error")));
    }
    m
}

struct Op<'a> {
    summary: &'a str,
    tag: &'a str,
    params: Vec<Value>,
    body: Option<Value>,
    success: (&'a str, Value),
    errors: &'static [&'static str],
    public: bool,
}

fn op(o: Op<'_>) -> Value {
    let mut responses = errors(o.errors);
    // Every operation may be rate limited (429 with Retry-After: public routes per address, admin routes
    // after repeated wrong tokens from one address); every body is size-limited and must be JSON.
    let mut extra = vec!["429"];
    if o.params.iter().any(|p| p["in"] == "query") {
        extra.push("400"); // a query string that does not parse
    }
    if o.body.is_some() {
        extra.extend(["413", "415"]);
    }
    for (code, mut response) in errors(&extra) {
        if code == "429" {
            response["headers"] =
                json!({"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}});
        }
        responses.entry(code).or_insert(response);
    }
    responses.insert(o.success.0.to_string(), o.success.1);
    let mut v = json!({"summary": o.summary, "tags": [o.tag], "responses": responses});
    if !o.params.is_empty() {
        v["parameters"] = Value::Array(o.params);
    }
    if let Some(b) = o.body {
        v["requestBody"] = b;
    }
    if o.public {
        v["security"] = json!([]);
    }
    v
}

fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

/// The document.
pub fn document() -> Value {
    let kb = || path_param("kb", "Knowledge base name");
    let mut paths = Map::new();
    let mut add = |path: &str, method: &str, o: Op| {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op(o);
    };
    add(
        "/mcp",
        "post",
        Op {
            summary: "Model Context Protocol server (streamable HTTP, JSON-RPC 2.0): tools `search` and `ask`",
            tag: "mcp",
            params: vec![],
            body: Some(json_body(
                json!({"type": ["object", "array"], "description": "A JSON-RPC 2.0 request, notification or batch"}),
            )),
            success: (
                "200",
                ok("A JSON-RPC response, or for a batch the array of responses", json!({"type": ["object", "array"]})),
            ),
            errors: &["401"],
            public: false,
        },
    );
    add(
        "/mcp",
        "get",
        Op {
            summary: "No server-initiated stream is offered: always 405 with `Allow: POST, DELETE`",
            tag: "mcp",
            params: vec![],
            body: None,
            success: ("405", json!({"description": "This server opens no server-initiated stream"})),
            errors: &["401"],
            public: false,
        },
    );
    add(
        "/mcp",
        "delete",
        Op {
            summary: "Ends an MCP session (sessions carry no state here, so this always succeeds)",
            tag: "mcp",
            params: vec![],
            body: None,
            success: ("200", json!({"description": "The session ended"})),
            errors: &["401"],
            public: false,
        },
    );

    // Agents, chat, memory and audit.
    let agent = || path_param("agent", "Agent name");
    type Extra = fn() -> Vec<Value>;
    let none: Extra = Vec::new;
    let body_any = || Some(json_body(json!({"type": "object"})));
    // (path, method, summary, tag, public, success status, parameters, body)
    type Row = (&'static str, &'static str, &'static str, &'static str, bool, &'static str, Vec<Value>, Option<Value>);
    let table: Vec<Row> = vec![
        ("/v1/chat/completions", "post", "OpenAI-compatible chat completions (model = agent name; API key = admin token or the agent's public key; streaming and non-streaming)", "chat", true, "200", none(), body_any()),
        ("/v1/models", "get", "OpenAI-compatible model list: the agents this API key may use as `model` (all for the admin token, the published agent for its public key)", "chat", true, "200", none(), None),
        ("/v1/models/{model}", "get", "One agent as an OpenAI model object; 404 with code model_not_found otherwise", "chat", true, "200", vec![path_param("model", "Agent name")], None),
    ];
    for (path, method, summary, tag, public, code, params, body) in table {
        add(
            path,
            method,
            Op {
                summary,
                tag,
                params,
                body,
                success: (code, ok("OK", json!({"type": "object"}))),
                errors: &["400", "401", "404"],
                public,
            },
        );
    }

    // A body that is not JSON-RPC at all is answered in JSON-RPC's own error shape, not the API's.
    if let Some(mcp) = paths.get_mut("/mcp") {
        mcp["post"]["responses"]["202"] = json!({"description": "Only notifications or responses were sent: no body"});
        mcp["post"]["responses"]["400"] = ok(
            "Not a JSON-RPC message: a JSON-RPC error response (-32700 parse error, -32600 invalid request)",
            json!({"type": "object", "required": ["jsonrpc", "error"], "properties": {
                "jsonrpc": {"const": "2.0"}, "id": {"type": ["string", "integer", "null"]},
                "error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "integer"}, "message": {"type": "string"}}}}}),
        );
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Throughline API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Build a knowledge base from documents or a site, search it, and run the customer agent on it. Every route but health and this document needs the admin token as a bearer token."
        },
        "servers": [{"url": "/"}],
        "security": [{"adminToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {}
        }
    });
    merge_generated(&mut doc);
    doc
}

/// Adds what every operation may answer to a generated operation, the way [`op`] does for the hand-written
/// ones: 401 on admin routes, 429 everywhere, 400 when it takes parameters or a body, 413 and 415 when it
/// takes a body; and an empty `security` on public routes.
fn complete(operation: &mut Value, path: &str) {
    let public = crate::PUBLIC_ROUTES.contains(&path);
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

/// Merges the operations and schemas generated from the typed handlers ([`crate::wire`],
/// [`crate::typed_routes`]) into `doc`.
fn merge_generated(doc: &mut Value) {
    let generated = serde_json::to_value(crate::typed_routes().split_for_parts().1).unwrap_or(Value::Null);
    if let Some(paths) = generated["paths"].as_object() {
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for (method, operation) in ops {
                let mut operation = operation.clone();
                complete(&mut operation, path);
                doc["paths"][path.as_str()][method.as_str()] = operation;
            }
        }
    }
    if let Some(schemas) = generated["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            doc["components"]["schemas"][name.as_str()] = schema.clone();
        }
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
    fn every_reference_resolves_and_every_operation_has_a_unique_id_or_is_hand_written() {
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
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "operation ids repeat");
        // The generated operations (knowledge bases, search, jobs) have ids and their error statuses.
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
    fn every_route_is_documented_and_nothing_else() -> Result<(), &'static str> {
        let doc = super::document();
        let paths = doc["paths"].as_object().ok_or("`paths` is not an object")?;
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, ops) in paths {
            for method in ops.as_object().ok_or("a path's operations are not an object")?.keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
        documented.sort();
        let mut routes: Vec<(String, String)> =
            crate::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        routes.sort();
        assert_eq!(documented, routes);
        Ok(())
    }
}
