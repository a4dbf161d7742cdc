//! The orders service: `GET /orders[?sku=]`, `POST /orders`,
//! `GET /orders/<id>`, `DELETE /orders/<id>`, and `GET /orders/health`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lambada::HeaderValue;
use lambada::header::LOCATION;
use lambada::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Health, check_sku};

/// The health check path: under the service's own prefix, so the ALB rule
/// that routes `/orders*` here routes its health check too (see the README).
pub const HEALTH_PATH: &str = "/orders/health";

/// Most items one order may ask for.
pub const MAX_QUANTITY: u32 = 1_000;

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    /// Assigned by the service, from 1.
    pub id: u64,
    /// What was ordered.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// What a client posts to place an order.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NewOrder {
    /// What to order.
    #[schemars(regex(pattern = crate::SKU_PATTERN))]
    pub sku: String,
    /// How many (1 to [`MAX_QUANTITY`]).
    #[schemars(range(min = 1, max = MAX_QUANTITY))]
    pub quantity: u32,
}

/// A list of orders.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderList {
    /// In id order.
    pub orders: Vec<Order>,
}

/// The orders, in memory: one book per process (per Lambda execution
/// environment, per ECS task). A real service keeps them in a database.
#[derive(Debug, Default)]
pub struct OrderBook(Mutex<Book>);

#[derive(Debug, Default)]
struct Book {
    last_id: u64,
    orders: BTreeMap<u64, Order>,
}

impl OrderBook {
    fn lock(&self) -> MutexGuard<'_, Book> {
        // A panicking handler cannot leave a half-written order behind: every
        // write is a single map operation.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why an orders request failed.
#[derive(Debug, HttpError)]
pub enum OrderError {
    /// No order with this id.
    #[status(NOT_FOUND)]
    NotFound(u64),
    /// The order is well-formed JSON but not a valid order.
    #[status(UNPROCESSABLE_ENTITY)]
    Invalid(String),
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::NotFound(id) => write!(f, "no order {id}"),
            OrderError::Invalid(why) => f.write_str(why),
        }
    }
}

/// `GET /orders`, optionally `?sku=ABC-123`.
#[get("/orders?<sku>")]
pub async fn list_orders(book: State<OrderBook>, sku: Option<String>) -> Json<OrderList> {
    let orders = book
        .lock()
        .orders
        .values()
        .filter(|o| sku.as_deref().is_none_or(|s| o.sku == s))
        .cloned()
        .collect();
    Json(OrderList { orders })
}

/// `POST /orders {"sku": "ABC-123", "quantity": 2}` → 201 with `Location`.
#[post("/orders")]
pub async fn create_order(
    book: State<OrderBook>,
    Json(new): Json<NewOrder>,
) -> Result<(StatusCode, HeaderMap, Json<Order>), OrderError> {
    check_sku(&new.sku).map_err(OrderError::Invalid)?;
    if !(1..=MAX_QUANTITY).contains(&new.quantity) {
        return Err(OrderError::Invalid(format!(
            "quantity must be 1 to {MAX_QUANTITY}, got {}",
            new.quantity
        )));
    }
    let order = {
        let mut book = book.lock();
        book.last_id += 1;
        let order = Order {
            id: book.last_id,
            sku: new.sku,
            quantity: new.quantity,
        };
        book.orders.insert(order.id, order.clone());
        order
    };
    let mut headers = HeaderMap::new();
    let location = HeaderValue::try_from(format!("/orders/{}", order.id))
        .expect("a path of ASCII digits is a valid header value");
    headers.insert(LOCATION, location);
    Ok((StatusCode::CREATED, headers, Json(order)))
}

/// `GET /orders/<id>`.
#[get("/orders/<id>")]
pub async fn get_order(book: State<OrderBook>, id: u64) -> Result<Json<Order>, OrderError> {
    book.lock()
        .orders
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or(OrderError::NotFound(id))
}

/// `DELETE /orders/<id>` → 204.
#[delete("/orders/<id>")]
pub async fn cancel_order(book: State<OrderBook>, id: u64) -> Result<(), OrderError> {
    book.lock()
        .orders
        .remove(&id)
        .map(drop)
        .ok_or(OrderError::NotFound(id))
}

/// `GET /orders/health`: the target group's health check.
#[get("/orders/health")]
pub async fn health() -> Json<Health> {
    Json(Health::ok("orders"))
}

/// The route table (its state, an [`OrderBook`], comes from
/// [`crate::orders()`]).
pub fn routes() -> Routes {
    routes![list_orders, create_order, get_order, cancel_order, health]
}
