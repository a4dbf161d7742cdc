//! Path-based microservices behind one Application Load Balancer, after
//! "Run Containerized Microservices with Amazon ECS and Application Load
//! Balancer": an `orders` service (`/orders`, `/orders/<id>`) and an
//! `inventory` service (`/inventory`, `/inventory/<sku>`), each with its own
//! health check.
//!
//! The same route tables run three ways: as Lambda targets of an ALB (single
//! or multi-value headers), behind API Gateway, and as container HTTP
//! servers on ECS (`LAMBADA_MODE=http`). Run one locally with
//! `PORT=8080 cargo run -p example-ecs-alb --bin orders`; see the README.

use lambada::Routes;

pub mod inventory;
pub mod orders;
mod probe;

pub use probe::probe;

/// The orders service's route table, with a fresh, empty order book.
pub fn orders() -> Routes {
    orders::routes().with_state(orders::OrderBook::default())
}

/// The inventory service's route table, with the demo stock.
pub fn inventory() -> Routes {
    inventory::routes().with_state(inventory::Stock::seeded())
}

/// What a health check answers.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Health {
    /// Always `ok`: a process that can answer is healthy (it holds no
    /// connection that could be down).
    pub status: String,
    /// Which service answered.
    pub service: String,
    /// The crate version, to see which build a target group runs.
    pub version: String,
}

impl Health {
    fn ok(service: &str) -> Health {
        Health {
            status: "ok".into(),
            service: service.into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// [`check_sku`]'s rule as a regular expression, for the OpenAPI document.
pub const SKU_PATTERN: &str = "^[A-Z0-9-]{1,32}$";

/// A SKU in a path (`/inventory/<sku>`): a malformed one is a 400 before
/// the handler runs, and the OpenAPI document says what one looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(pub String);

impl<'r> lambada::FromParam<'r> for Sku {
    type Error = String;
    fn from_param(param: &'r str) -> Result<Self, String> {
        check_sku(param).map(|()| Sku(param.to_owned()))
    }
}

impl schemars::JsonSchema for Sku {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sku".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": SKU_PATTERN,
            "description": "A stock-keeping unit: 1 to 32 upper-case letters, digits and dashes",
        })
    }
}

/// A stock-keeping unit is 1 to 32 upper-case letters, digits and dashes.
pub fn check_sku(sku: &str) -> Result<(), String> {
    if (1..=32).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(())
    } else {
        Err(format!(
            "`{sku}` is not a SKU: 1 to 32 upper-case letters, digits and dashes"
        ))
    }
}

#[cfg(test)]
mod tests;
