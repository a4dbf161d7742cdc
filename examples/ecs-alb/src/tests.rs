use lambada::EventKind;
use lambada::test::{Client, TestResponse};
use serde_json::json;

use super::*;
use crate::inventory::{Item, ItemList};
use crate::orders::{Order, OrderList};

const JSON: &str = "application/json";
const PROBLEM: &str = "application/problem+json";

#[track_caller]
fn assert_problem(res: &TestResponse, status: u16, detail: &str) {
    assert_eq!(res.status(), status, "{}", res.text());
    assert_eq!(res.header("content-type"), Some(PROBLEM));
    let body: serde_json::Value = res.json();
    assert!(
        body["detail"].as_str().unwrap_or("").contains(detail),
        "{body}"
    );
}

/// Every event shape an orders request can arrive in: ALB (with and without
/// multi-value headers), API Gateway REST and HTTP APIs, function URLs.
#[tokio::test]
async fn orders_in_every_event_shape() {
    for kind in EventKind::LAMBDA {
        // A fresh book per shape: ids start at 1.
        let client = Client::new(orders()).kind(kind);

        let res = client.get("/orders").send().await;
        assert_eq!(res.status(), 200, "{kind:?}");
        assert_eq!(res.json::<OrderList>(), OrderList { orders: vec![] });

        let res = client
            .post("/orders")
            .json(&json!({"sku": "ABC-123", "quantity": 2}))
            .send()
            .await;
        assert_eq!(res.status(), 201, "{kind:?}: {}", res.text());
        assert_eq!(res.header("location"), Some("/orders/1"), "{kind:?}");
        assert_eq!(res.header("content-type"), Some(JSON));
        let first = Order {
            id: 1,
            sku: "ABC-123".into(),
            quantity: 2,
        };
        assert_eq!(res.json::<Order>(), first, "{kind:?}");
        client
            .post("/orders")
            .json(&json!({"sku": "XYZ-789", "quantity": 1}))
            .send()
            .await;

        let res = client.get("/orders/1").send().await;
        assert_eq!(res.json::<Order>(), first, "{kind:?}");
        let res = client.get("/orders?sku=ABC-123").send().await;
        assert_eq!(
            res.json::<OrderList>(),
            OrderList {
                orders: vec![first.clone()]
            },
            "{kind:?}"
        );
        let res = client.get("/orders").send().await;
        assert_eq!(res.json::<OrderList>().orders.len(), 2, "{kind:?}");

        let res = client.delete("/orders/1").send().await;
        assert_eq!(res.status(), 204, "{kind:?}");
        assert!(res.bytes().is_empty());
        let res = client.get("/orders/1").send().await;
        assert_problem(&res, 404, "no order 1");
        let res = client.delete("/orders/1").send().await;
        assert_problem(&res, 404, "no order 1");
    }
}

#[tokio::test]
async fn order_validation() {
    let client = Client::new(orders());
    for (body, status, detail) in [
        (json!({"sku": "abc", "quantity": 1}), 422, "not a SKU"),
        (json!({"sku": "", "quantity": 1}), 422, "not a SKU"),
        (
            json!({"sku": "ABC-123", "quantity": 0}),
            422,
            "quantity must be 1 to 1000",
        ),
        (
            json!({"sku": "ABC-123", "quantity": 1001}),
            422,
            "quantity must be 1 to 1000",
        ),
        (json!({"sku": "ABC-123"}), 422, "missing field `quantity`"),
        (
            json!({"sku": "ABC-123", "quantity": -1}),
            422,
            "invalid value",
        ),
    ] {
        let res = client.post("/orders").json(&body).send().await;
        assert_problem(&res, status, detail);
    }
    let res = client
        .post("/orders")
        .header("content-type", JSON)
        .body("{not json")
        .send()
        .await;
    assert_problem(&res, 400, "invalid JSON");
    let res = client
        .post("/orders")
        .header("content-type", "text/plain")
        .body("ABC-123 x2")
        .send()
        .await;
    assert_eq!(res.status(), 415);
    // Not a number: a bad path parameter, not an unknown order.
    let res = client.get("/orders/first").send().await;
    assert_problem(&res, 400, "`id`");
    // Nothing was created by any of that.
    let res = client.get("/orders").send().await;
    assert_eq!(res.json::<OrderList>(), OrderList { orders: vec![] });
}

#[tokio::test]
async fn inventory_in_every_event_shape() {
    let widget = Item {
        sku: "ABC-123".into(),
        name: "Widget".into(),
        quantity: 12,
    };
    for kind in EventKind::LAMBDA {
        let client = Client::new(inventory()).kind(kind);
        let res = client.get("/inventory").send().await;
        assert_eq!(res.status(), 200, "{kind:?}");
        assert_eq!(res.json::<ItemList>().items.len(), 2, "{kind:?}");
        let res = client.get("/inventory?in_stock=true").send().await;
        assert_eq!(
            res.json::<ItemList>(),
            ItemList {
                items: vec![widget.clone()]
            },
            "{kind:?}"
        );
        let res = client.get("/inventory/ABC-123").send().await;
        assert_eq!(res.json::<Item>(), widget, "{kind:?}");

        let res = client
            .put("/inventory/NEW-1")
            .json(&json!({"name": "Sprocket", "quantity": 3}))
            .send()
            .await;
        assert_eq!(res.status(), 201, "{kind:?}: {}", res.text());
        assert_eq!(res.header("location"), Some("/inventory/NEW-1"));
        let res = client
            .put("/inventory/NEW-1")
            .json(&json!({"name": "Sprocket", "quantity": 5}))
            .send()
            .await;
        assert_eq!(res.status(), 200, "{kind:?}");
        assert_eq!(res.header("location"), None);
        let res = client.get("/inventory/NEW-1").send().await;
        assert_eq!(res.json::<Item>().quantity, 5, "{kind:?}");

        let res = client.get("/inventory/NOPE-1").send().await;
        assert_problem(&res, 404, "no item `NOPE-1`");
    }
}

#[tokio::test]
async fn inventory_validation() {
    let client = Client::new(inventory());
    let res = client
        .put("/inventory/lower-case")
        .json(&json!({"name": "x", "quantity": 1}))
        .send()
        .await;
    // A SKU of the path is checked as it is read (`Sku: FromParam`).
    assert_problem(&res, 400, "not a SKU");
    let res = client
        .put("/inventory/ABC-123")
        .json(&json!({"name": "   ", "quantity": 1}))
        .send()
        .await;
    assert_problem(&res, 422, "name must be 1 to 100 characters");
    let res = client
        .put("/inventory/ABC-123")
        .json(&json!({"name": format!(" {} ", "n".repeat(100)), "quantity": 1}))
        .send()
        .await;
    assert_problem(&res, 422, "name must be 1 to 100 characters");
    let res = client.get("/inventory?in_stock=maybe").send().await;
    assert_problem(&res, 400, "`in_stock`");
    let res = client.post("/inventory").send().await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn health_checks_in_every_event_shape() {
    for (routes, path, service) in [
        (orders(), orders::HEALTH_PATH, "orders"),
        (inventory(), inventory::HEALTH_PATH, "inventory"),
    ] {
        let client = Client::new(routes);
        for kind in EventKind::LAMBDA {
            let res = client
                .get(path)
                .kind(kind)
                .header("user-agent", "ELB-HealthChecker/2.0")
                .send()
                .await;
            assert_eq!(res.status(), 200, "{service} {kind:?}");
            assert_eq!(
                res.json::<Health>(),
                Health {
                    status: "ok".into(),
                    service: service.into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                }
            );
            // A health check may use HEAD.
            let res = client.head(path).kind(kind).send().await;
            assert_eq!(res.status(), 200, "{service} {kind:?}");
        }
    }
}

#[tokio::test]
async fn each_service_answers_only_its_own_paths() {
    let res = Client::new(orders()).get("/inventory/ABC-123").send().await;
    assert_eq!(res.status(), 404);
    let res = Client::new(inventory()).get("/orders").send().await;
    assert_eq!(res.status(), 404);
}

/// The response shapes an ALB expects: `statusDescription`, and `headers`
/// or `multiValueHeaders` matching the target group's setting.
#[tokio::test]
async fn alb_response_shapes() {
    let client = Client::new(orders());
    let res = client
        .get("/orders/health")
        .kind(EventKind::Alb)
        .send()
        .await;
    let p = res.payload();
    assert_eq!(p["statusDescription"], "200 OK");
    assert_eq!(p["headers"]["content-type"], JSON);
    assert!(p.get("multiValueHeaders").is_none(), "{p}");
    let res = client
        .get("/orders/health")
        .kind(EventKind::AlbMultiValue)
        .send()
        .await;
    let p = res.payload();
    assert_eq!(p["statusDescription"], "200 OK");
    assert_eq!(p["multiValueHeaders"]["content-type"], json!([JSON]));
    assert!(p.get("headers").is_none(), "{p}");
}

/// Checked-in events, as an ALB sends them to a Lambda target.
#[tokio::test]
async fn recorded_alb_events() {
    let client = Client::new(orders());

    // The target group's health check (single-value headers).
    let res = client
        .send_event(include_bytes!("../tests/data/alb-health-check.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.payload()["statusDescription"], "200 OK");
    assert_eq!(res.json::<Health>().service, "orders");

    // A create through a multi-value target group: the answer comes back in
    // `multiValueHeaders`.
    let res = client
        .send_event(include_bytes!(
            "../tests/data/alb-multi-value-create-order.json"
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text());
    assert_eq!(res.payload()["statusDescription"], "201 Created");
    assert_eq!(
        res.payload()["multiValueHeaders"]["location"],
        json!(["/orders/1"])
    );

    // A list with a query string (ALB passes it undecoded) and a repeated
    // header.
    let res = client
        .send_event(include_bytes!(
            "../tests/data/alb-multi-value-list-orders.json"
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<OrderList>().orders.len(), 1);

    // The same health check through the inventory service is a 404: each
    // target group has its own service.
    let res = Client::new(inventory())
        .send_event(include_bytes!("../tests/data/alb-health-check.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[test]
fn route_tables() {
    let table = |routes: lambada::Routes| -> Vec<(String, String)> {
        routes
            .iter()
            .map(|r| (r.method.to_string(), r.apigw_path.to_owned()))
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect()
    };
    assert_eq!(
        table(orders()),
        pairs(&[
            ("GET", "/orders"),
            ("POST", "/orders"),
            ("GET", "/orders/{id}"),
            ("DELETE", "/orders/{id}"),
            ("GET", "/orders/health"),
        ])
    );
    assert_eq!(
        table(inventory()),
        pairs(&[
            ("GET", "/inventory"),
            ("GET", "/inventory/{sku}"),
            ("PUT", "/inventory/{sku}"),
            ("GET", "/inventory/health"),
        ])
    );
    assert!(orders().check().is_ok());
    assert!(inventory().check().is_ok());
}

#[test]
fn skus() {
    for ok in ["A", "ABC-123", "X9", &"Z".repeat(32)] {
        assert_eq!(check_sku(ok), Ok(()), "{ok}");
    }
    for bad in ["", "abc", "ABC 123", "ABC_123", "ÄBC", &"Z".repeat(33)] {
        assert!(check_sku(bad).is_err(), "{bad}");
    }
}
