//! The OpenAPI document that `GET /openapi.json` serves: valid OpenAPI 3.1, and every parameter in
//! the place the router reads it from (path template, query string or header).
//!
//! `schemas/openapi-3.1.json` is the OpenAPI Initiative's official JSON Schema for OpenAPI 3.1
//! (Apache License 2.0; where it comes from: `schemas/README.md`). It refers only to the JSON
//! Schema 2020-12 meta-schema, which the `jsonschema` crate has built in: no network.
//!
//! Self-contained on purpose (its own router on its own SQLite database): the document does not
//! depend on the backend.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kokuho::{Config, Ledgerd, MasterKeySource};
use serde_json::Value;
use tower::ServiceExt;

const OPENAPI_31_SCHEMA: &str = include_str!("schemas/openapi-3.1.json");
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async fn served_document() -> Value {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        database_url: format!("sqlite://{}", dir.path().join("ledger.db").display()),
        master_key: MasterKeySource::Ephemeral,
        checkpoint_key: kokuho::CheckpointKeySource::Ephemeral,
        checkpoint_minutes: 10,
        merkle_tree: true,
        metrics_token: None,
        http: Default::default(),
        limits: Default::default(),
    };
    let ledgerd = Ledgerd::open(&config, Arc::new(chrono::Utc::now)).await.unwrap();
    let request = Request::get("/openapi.json").body(Body::empty()).unwrap();
    let response = kokuho_api::router(ledgerd.state()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Each operation as `"METHOD /path"` with its parameters, the path item's merged with the
/// operation's (an operation's own parameter overrides the path item's of the same name and place).
fn operations(document: &Value) -> Vec<(String, String, Vec<Value>)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        let shared = item["parameters"].as_array().cloned().unwrap_or_default();
        for method in METHODS {
            let Some(operation) = item.get(method) else { continue };
            let mut parameters: Vec<Value> = shared.iter().map(|p| resolve(document, p)).collect();
            for own in operation["parameters"].as_array().cloned().unwrap_or_default() {
                let own = resolve(document, &own);
                parameters.retain(|p| (&p["name"], &p["in"]) != (&own["name"], &own["in"]));
                parameters.push(own);
            }
            operations.push((format!("{} {path}", method.to_uppercase()), path.clone(), parameters));
        }
    }
    operations
}

/// A parameter, or the `#/components/parameters/…` one it refers to.
fn resolve(document: &Value, parameter: &Value) -> Value {
    match parameter["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local reference");
            document.pointer(pointer).unwrap_or_else(|| panic!("{reference} resolves")).clone()
        }
        None => parameter.clone(),
    }
}

/// The `{name}`s of a path template.
fn template_names(path: &str) -> BTreeSet<String> {
    path.split('{').skip(1).map(|rest| rest.split_once('}').expect("a closed {name}").0.to_owned()).collect()
}

#[tokio::test]
async fn the_served_openapi_document_is_valid_openapi_3_1() {
    let document = served_document().await;
    let schema: Value = serde_json::from_str(OPENAPI_31_SCHEMA).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("the schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(&document).map(|error| format!("at {}: {error}", error.instance_path())).collect();
    assert!(errors.is_empty(), "/openapi.json is not valid OpenAPI 3.1:\n{}", errors.join("\n"));
    // The OpenAPI schema leaves Schema Objects to their dialect (JSON Schema 2020-12 here).
    for (name, component) in document["components"]["schemas"].as_object().expect("component schemas") {
        if let Err(error) = jsonschema::draft202012::meta::validate(component) {
            panic!("components/schemas/{name} is not a JSON Schema 2020-12 schema: {error}");
        }
    }
}

#[tokio::test]
async fn every_parameter_is_documented_where_the_router_reads_it() {
    let document = served_document().await;
    let mut problems = Vec::new();
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (operation, path, parameters) in operations(&document) {
        let templated = template_names(&path);
        let mut seen = BTreeSet::new();
        for parameter in &parameters {
            let name = parameter["name"].as_str().expect("a named parameter");
            let place = parameter["in"].as_str().expect("a parameter's place");
            let required = parameter["required"].as_bool().unwrap_or(false);
            if !seen.insert((name, place)) {
                problems.push(format!("{operation}: {name} ({place}) is declared twice"));
            }
            match (templated.contains(name), place) {
                (true, "path") if !required => problems.push(format!("{operation}: path parameter {name} is optional")),
                (true, "path") => {}
                (true, _) => problems.push(format!("{operation}: {{{name}}} is in the path, documented in {place}")),
                (false, "path") => problems.push(format!("{operation}: {name} is in: path, not in the template")),
                (false, _) => {}
            }
            if name == "tenant" && parameter["schema"]["pattern"] != "^[0-9]{6}$" {
                problems.push(format!("{operation}: tenant has no 6-digit pattern: {parameter}"));
            }
            if place == "query" {
                let entry = query.entry(operation.clone()).or_default();
                entry.push_str(&format!(" {name}{}", if required { "" } else { "?" }));
            }
        }
        for name in &templated {
            if !parameters.iter().any(|p| p["name"] == name.as_str() && p["in"] == "path") {
                problems.push(format!("{operation}: {{{name}}} is not documented as a path parameter"));
            }
        }
    }
    assert!(problems.is_empty(), "parameters in the wrong place:\n{}", problems.join("\n"));

    // The query string each handler reads (its `*Query` struct, which denies unknown fields);
    // `?` marks an optional parameter.
    let expected: BTreeMap<String, String> = [
        ("GET /v1/{tenant}/persons", " atena_no? name? name_kana? date_of_birth? purpose"),
        ("GET /v1/{tenant}/persons/{person_id}", " purpose as_of?"),
        ("GET /v1/{tenant}/persons/{person_id}/eligibility", " purpose as_of? on?"),
        ("GET /v1/{tenant}/persons/{person_id}/timeline", " purpose as_of?"),
        ("GET /v1/{tenant}/households/{household_id}", " purpose as_of? on?"),
        ("GET /v1/{tenant}/my-number-links/{request_id}", " purpose"),
        ("GET /v1/{tenant}/cost-shares", " purpose on? after?"),
        ("GET /v1/{tenant}/eligibility/moves", " purpose after?"),
        ("GET /v1/{tenant}/eligibility/late-notifications", " purpose from to after?"),
        ("GET /v1/{tenant}/access-records", " person_id? user_id? from? to? after? limit?"),
        ("GET /v1/{tenant}/households/{household_id}/tax/{fiscal_year}", " purpose as_of?"),
        ("GET /v1/{tenant}/tax/assessments", " purpose fiscal_year after? limit?"),
        ("GET /v1/{tenant}/audit/checkpoint", " purpose"),
        ("GET /v1/{tenant}/audit/inclusion", " purpose tree_size? position? event_id?"),
        ("GET /v1/{tenant}/audit/consistency", " purpose from to?"),
        ("GET /v1/{tenant}/households/{household_id}/accounts/{fiscal_year}", " purpose as_of? on?"),
        ("GET /v1/{tenant}/collection/arrears", " purpose on? after? limit?"),
        ("GET /v1/{tenant}/households/{household_id}/benefits/high-cost/{month}", " purpose as_of?"),
        ("GET /v1/{tenant}/persons/{person_id}/benefits", " purpose as_of?"),
    ]
    .into_iter()
    .map(|(operation, parameters)| (operation.to_owned(), parameters.to_owned()))
    .collect();
    assert_eq!(query, expected, "the query parameters documented, per operation");
}
