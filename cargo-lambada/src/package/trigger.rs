//! A trigger in the CloudFormation template: its function is made by
//! `cloudformation`; what wires it to its source (a subscription, a rule,
//! an event-source mapping, a permission) is its kind's, written by the
//! same module that wires it on `deploy` (`Wiring::template`, in
//! `deploy/triggers/<kind>.rs`), into a [`Template`].

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::manifest::TriggerEntry;

/// One trigger's place in the template, for its kind to fill.
pub(crate) struct Template<'a> {
    pub cfg: &'a Config,
    pub t: &'a TriggerEntry,
    /// The prefix of the trigger's logical ids (`TriggerOnSes`).
    pub id: &'a str,
    /// Its function's name.
    pub name: &'a str,
    /// A polled source's ARN, as a template value (its kind's
    /// `Wiring::template_source`).
    pub source: Option<Value>,
    /// Whether the stack has a REST or HTTP API whose authorizers invoke
    /// functions.
    pub has_authorizers: bool,
    pub resources: &'a mut Map<String, Value>,
    pub outputs: &'a mut Map<String, Value>,
}

impl Template<'_> {
    /// The logical id of the trigger's function.
    pub fn function_id(&self) -> String {
        format!("{}Function", self.id)
    }

    /// The ARN of the trigger's function.
    pub fn function_arn(&self) -> Value {
        json!({"Fn::GetAtt": [self.function_id(), "Arn"]})
    }

    /// Adds the resource `{id}{suffix}`.
    pub fn insert(&mut self, suffix: &str, resource: Value) {
        self.resources
            .insert(format!("{}{suffix}", self.id), resource);
    }

    /// Adds `{id}Permission`: `principal` may invoke the function from
    /// `source_arn`.
    pub fn permission(&mut self, principal: &str, source_arn: Value) {
        let resource = json!({
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": self.function_arn(),
                "Principal": principal,
                "SourceArn": source_arn
            }
        });
        self.insert("Permission", resource);
    }

    /// The tags of a resource made for the trigger.
    pub fn tags(&self) -> Value {
        json!([
            {"Key": "lambada:function", "Value": self.cfg.function},
            {"Key": "lambada:trigger", "Value": self.t.handler}
        ])
    }
}

/// A CloudFormation logical id: `prefix` + the alphanumeric CamelCase of
/// `name` + `suffix` (`on_ses` → `TriggerOnSesFunction`).
pub(crate) fn logical_id(prefix: &str, name: &str, suffix: &str) -> String {
    let mut out = String::from(prefix);
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out.push_str(suffix);
    out
}
