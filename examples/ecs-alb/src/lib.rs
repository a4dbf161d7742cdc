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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
