//! The inventory service: `GET /inventory[?in_stock=true]`,
//! `GET /inventory/<sku>`, `PUT /inventory/<sku>`, and
//! `GET /inventory/health`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lambada::HeaderValue;
use lambada::header::LOCATION;
use lambada::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Health, Sku};

/// The health check path, under the service's own prefix (see the README).
pub const HEALTH_PATH: &str = "/inventory/health";

/// A stocked item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    /// Its stock-keeping unit.
    pub sku: String,
    /// What it is.
    pub name: String,
    /// How many are in stock.
    pub quantity: u32,
}

/// What a client puts to stock an item.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StockLevel {
    /// What it is (1 to 100 characters, not all blank).
    #[schemars(length(min = 1, max = 100), regex(pattern = "\\S"))]
    pub name: String,
    /// How many are in stock.
    pub quantity: u32,
}

/// A list of items.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemList {
    /// In SKU order.
    pub items: Vec<Item>,
}

/// The stock, in memory (one per process).
#[derive(Debug, Default)]
pub struct Stock(Mutex<BTreeMap<String, Item>>);

impl Stock {
    /// The demo stock: `ABC-123` (12 widgets) and `XYZ-789` (no gadgets).
    pub fn seeded() -> Stock {
        let items = [("ABC-123", "Widget", 12), ("XYZ-789", "Gadget", 0)]
            .into_iter()
            .map(|(sku, name, quantity)| {
                let item = Item {
                    sku: sku.into(),
                    name: name.into(),
                    quantity,
                };
                (item.sku.clone(), item)
            })
            .collect();
        Stock(Mutex::new(items))
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Item>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why an inventory request failed.
#[derive(Debug, HttpError)]
pub enum InventoryError {
    /// No such SKU.
    #[status(NOT_FOUND)]
    NotFound(String),
    /// Well-formed but invalid.
    #[status(UNPROCESSABLE_ENTITY)]
    Invalid(String),
}

impl std::fmt::Display for InventoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InventoryError::NotFound(sku) => write!(f, "no item `{sku}`"),
            InventoryError::Invalid(why) => f.write_str(why),
        }
    }
}

/// `GET /inventory`, optionally `?in_stock=true`.
#[get("/inventory?<in_stock>")]
pub async fn list_items(stock: State<Stock>, in_stock: Option<bool>) -> Json<ItemList> {
    let items = stock
        .lock()
        .values()
        .filter(|i| in_stock.is_none_or(|want| (i.quantity > 0) == want))
        .cloned()
        .collect();
    Json(ItemList { items })
}

/// `GET /inventory/<sku>`.
#[get("/inventory/<sku>")]
pub async fn get_item(stock: State<Stock>, sku: Sku) -> Result<Json<Item>, InventoryError> {
    stock
        .lock()
        .get(&sku.0)
        .cloned()
        .map(Json)
        .ok_or(InventoryError::NotFound(sku.0))
}

/// `PUT /inventory/<sku> {"name": "Widget", "quantity": 12}`: 201 with
/// `Location` when new, 200 when replaced.
#[put("/inventory/<sku>")]
pub async fn put_item(
    stock: State<Stock>,
    sku: Sku,
    Json(level): Json<StockLevel>,
) -> Result<(StatusCode, HeaderMap, Json<Item>), InventoryError> {
    let sku = sku.0;
    if level.name.trim().is_empty() || level.name.chars().count() > 100 {
        return Err(InventoryError::Invalid(
            "name must be 1 to 100 characters".into(),
        ));
    }
    let item = Item {
        sku: sku.clone(),
        name: level.name.trim().to_owned(),
        quantity: level.quantity,
    };
    let replaced = stock.lock().insert(item.sku.clone(), item.clone());
    let mut headers = HeaderMap::new();
    let status = if replaced.is_some() {
        StatusCode::OK
    } else {
        let location = HeaderValue::try_from(format!("/inventory/{sku}"))
            .expect("a checked SKU is a valid header value");
        headers.insert(LOCATION, location);
        StatusCode::CREATED
    };
    Ok((status, headers, Json(item)))
}

/// `GET /inventory/health`: the target group's health check.
#[get("/inventory/health")]
pub async fn health() -> Json<Health> {
    Json(Health::ok("inventory"))
}

/// The route table (its state, a [`Stock`], comes from
/// [`crate::inventory()`]).
pub fn routes() -> Routes {
    routes![list_items, get_item, put_item, health]
}
