//! `cargo lambada openapi`: the app's OpenAPI 3.1 document, from the
//! handlers' types (the binary describes its own route table), and the
//! OpenAPI 3.0 form of it that API Gateway imports.
//!
//! The document is the one the binary prints; configuration adds what only
//! it knows (a configured authorizer reading another header than
//! `Authorization` is an API key there, not a bearer token). `package` and
//! `deploy` start from the same document, converted to OpenAPI 3.0 (API
//! Gateway imports no 3.1) with the API Gateway extensions added.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::build::{self, BuildError};
use crate::config::{self, Config, ConfigError, Settings};
use crate::manifest::{self, Manifest, ManifestError};

/// Errors of `openapi`.
#[derive(Debug, thiserror::Error)]
pub enum OpenapiError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(
        "the binary describes no OpenAPI document: it was built with a lambada-runtime older than this cargo-lambada"
    )]
    NoDocument,
    #[error("cannot write the document as YAML: {0}")]
    Yaml(String),
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// The format `openapi` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// JSON (pretty-printed).
    #[default]
    Json,
    /// YAML.
    Yaml,
}

/// Arguments of `openapi`.
#[derive(clap::Args, Debug)]
pub struct OpenapiArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Write the document here instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The document's format (default: json, or yaml for a `.yaml`/`.yml` --out).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// The app's OpenAPI 3.1 document: the binary's, with what configuration
/// knows of the authorizers. `None` for a binary of a Lambada without
/// OpenAPI descriptions.
pub fn document(cfg: &Config, m: &Manifest) -> Option<Value> {
    let mut doc = m.openapi.clone()?;
    if let Some(schemes) = doc
        .pointer_mut("/components/securitySchemes")
        .and_then(Value::as_object_mut)
    {
        for (name, scheme) in schemes.iter_mut() {
            if let Some(a) = cfg.authorizers.get(name)
                && !a.identity.eq_ignore_ascii_case("authorization")
            {
                *scheme = json!({"type": "apiKey", "in": "header", "name": a.identity});
            }
        }
    }
    Some(doc)
}

/// `cargo lambada openapi`.
pub async fn run(args: OpenapiArgs) -> Result<(), OpenapiError> {
    let mut cfg = config::load(&args.settings)?;
    cfg.target = None; // the binary must run here
    let (binary, _) = build::compile(&cfg, false, true).await?;
    let m = manifest::read(&binary).await?;
    let doc = document(&cfg, &m).ok_or(OpenapiError::NoDocument)?;
    let format = args.format.unwrap_or_else(|| {
        let yaml = args
            .out
            .as_ref()
            .and_then(|p| p.extension())
            .is_some_and(|e| e == "yaml" || e == "yml");
        if yaml { Format::Yaml } else { Format::Json }
    });
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n",
        Format::Yaml => {
            serde_norway::to_string(&doc).map_err(|e| OpenapiError::Yaml(e.to_string()))?
        }
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| OpenapiError::Io(path.clone(), e))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// An OpenAPI 3.1 schema (JSON Schema 2020-12) as an OpenAPI 3.0 schema
/// object: `type: [T, "null"]` → `nullable`, `const` → `enum`,
/// `examples` → `example`, a numeric `exclusiveMinimum`/`Maximum` → the
/// boolean form, boolean schemas → objects; keywords 3.0 lacks are
/// dropped (they only narrow what a schema accepts, so the 3.0 schema
/// accepts at least as much).
pub fn schema_to_30(schema: &Value) -> Value {
    match schema {
        Value::Bool(true) => json!({}),
        Value::Bool(false) => json!({"not": {}}),
        Value::Object(o) => {
            let mut out = Map::new();
            let mut nullable = false;
            for (k, v) in o {
                match k.as_str() {
                    "$schema"
                    | "$id"
                    | "$comment"
                    | "contentMediaType"
                    | "contentEncoding"
                    | "prefixItems"
                    | "unevaluatedProperties"
                    | "unevaluatedItems"
                    | "dependentRequired"
                    | "dependentSchemas"
                    | "$defs"
                    | "if"
                    | "then"
                    | "else"
                    | "propertyNames"
                    | "contains"
                    | "minContains"
                    | "maxContains" => {}
                    "type" => match v {
                        Value::Array(types) => {
                            let rest: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
                            nullable |= rest.len() < types.len();
                            match rest.as_slice() {
                                [] => {}
                                [one] => {
                                    out.insert("type".into(), (*one).clone());
                                }
                                many => {
                                    out.insert(
                                        "anyOf".into(),
                                        Value::Array(
                                            many.iter().map(|t| json!({"type": t})).collect(),
                                        ),
                                    );
                                }
                            }
                        }
                        Value::String(t) if t == "null" => nullable = true,
                        other => {
                            out.insert("type".into(), other.clone());
                        }
                    },
                    "const" => {
                        out.insert("enum".into(), json!([v]));
                    }
                    "examples" => {
                        if let Some(first) = v.as_array().and_then(|a| a.first()) {
                            out.insert("example".into(), first.clone());
                        }
                    }
                    "exclusiveMinimum" | "exclusiveMaximum" if v.is_number() => {
                        let bound = if k == "exclusiveMinimum" {
                            "minimum"
                        } else {
                            "maximum"
                        };
                        out.insert(bound.into(), v.clone());
                        out.insert(k.clone(), json!(true));
                    }
                    "anyOf" | "oneOf" => {
                        let items: Vec<&Value> =
                            v.as_array().map(|a| a.iter().collect()).unwrap_or_default();
                        let null = |s: &&Value| s.get("type") == Some(&json!("null"));
                        nullable |= items.iter().any(null);
                        let rest: Vec<Value> = items
                            .into_iter()
                            .filter(|s| !null(s))
                            .map(schema_to_30)
                            .collect();
                        if rest.len() == 1 && nullable {
                            // `Option<T>` of a named `T`: `allOf` lets a
                            // `$ref` carry `nullable` beside it.
                            out.insert("allOf".into(), Value::Array(rest));
                        } else if !rest.is_empty() {
                            out.insert(k.clone(), Value::Array(rest));
                        }
                    }
                    "properties" | "patternProperties" => {
                        let props: Map<String, Value> = v
                            .as_object()
                            .map(|p| {
                                p.iter()
                                    .map(|(n, s)| (n.clone(), schema_to_30(s)))
                                    .collect()
                            })
                            .unwrap_or_default();
                        if k == "properties" {
                            out.insert(k.clone(), Value::Object(props));
                        }
                    }
                    "items" | "additionalProperties" | "not" => {
                        out.insert(k.clone(), schema_to_30(v));
                    }
                    "allOf" => {
                        out.insert(
                            k.clone(),
                            Value::Array(
                                v.as_array()
                                    .map(|a| a.iter().map(schema_to_30).collect())
                                    .unwrap_or_default(),
                            ),
                        );
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            if nullable {
                out.insert("nullable".into(), json!(true));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// An operation of the 3.1 document in OpenAPI 3.0 and API Gateway's
/// terms: schemas converted, the framework's response components inlined,
/// status ranges folded into `default` (API Gateway's method responses
/// are numbered).
pub fn operation_to_30(op: &Value, components: &Value) -> Value {
    let mut out = op.clone();
    if let Some(params) = out.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params {
            if let Some(s) = p.get("schema") {
                p["schema"] = schema_to_30(s);
            }
        }
    }
    if let Some(content) = out
        .pointer_mut("/requestBody/content")
        .and_then(Value::as_object_mut)
    {
        for media in content.values_mut() {
            if let Some(s) = media.get("schema") {
                media["schema"] = schema_to_30(s);
            }
        }
    }
    if let Some(responses) = out.get("responses").and_then(Value::as_object) {
        let mut folded = Map::new();
        for (status, r) in responses {
            let mut r = match r.get("$ref").and_then(Value::as_str) {
                Some(reference) => reference
                    .strip_prefix("#/components/responses/")
                    .and_then(|n| components.pointer(&format!("/responses/{n}")))
                    .cloned()
                    .unwrap_or_else(|| json!({"description": "a response"})),
                None => r.clone(),
            };
            if let Some(content) = r.get_mut("content").and_then(Value::as_object_mut) {
                for media in content.values_mut() {
                    if let Some(s) = media.get("schema") {
                        media["schema"] = schema_to_30(s);
                    }
                }
            }
            let key = if status.ends_with("XX") {
                "default".to_owned()
            } else {
                status.clone()
            };
            folded.entry(key).or_insert(r);
        }
        out["responses"] = Value::Object(folded);
    }
    out
}

/// The component schemas of the 3.1 document, converted.
pub fn schemas_to_30(doc: &Value) -> Map<String, Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|s| {
            s.iter()
                .map(|(k, v)| (k.clone(), schema_to_30(v)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_become_openapi_30() {
        assert_eq!(
            schema_to_30(&json!({"type": ["string", "null"], "maxLength": 3})),
            json!({"type": "string", "maxLength": 3, "nullable": true})
        );
        assert_eq!(
            schema_to_30(&json!({"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": "null"}]})),
            json!({"allOf": [{"$ref": "#/components/schemas/A"}], "nullable": true})
        );
        assert_eq!(
            schema_to_30(&json!({"const": "a", "examples": [1, 2], "exclusiveMinimum": 0})),
            json!({"enum": ["a"], "example": 1, "minimum": 0, "exclusiveMinimum": true})
        );
        assert_eq!(
            schema_to_30(
                &json!({"type": "object", "properties": {"x": {"type": ["integer", "null"]}}, "additionalProperties": false, "$schema": "x"})
            ),
            json!({"type": "object", "properties": {"x": {"type": "integer", "nullable": true}}, "additionalProperties": {"not": {}}})
        );
        assert_eq!(
            schema_to_30(&json!({"type": ["integer", "string"]})),
            json!({"anyOf": [{"type": "integer"}, {"type": "string"}]})
        );
    }

    #[test]
    fn operations_inline_the_framework_responses_and_fold_ranges() {
        let components = json!({"responses": {"BadRequest": {"description": "bad"}}});
        let op = json!({
            "parameters": [{"name": "a", "in": "query", "schema": {"type": ["boolean", "null"]}}],
            "responses": {
                "400": {"$ref": "#/components/responses/BadRequest"},
                "3XX": {"description": "moved"},
                "200": {"description": "ok", "content": {"application/json": {"schema": {"const": 1}}}},
            }
        });
        let out = operation_to_30(&op, &components);
        assert_eq!(out["responses"]["400"], json!({"description": "bad"}));
        assert_eq!(out["responses"]["default"]["description"], "moved");
        assert_eq!(
            out["responses"]["200"]["content"]["application/json"]["schema"],
            json!({"enum": [1]})
        );
        assert_eq!(out["parameters"][0]["schema"]["nullable"], true);
    }
}
