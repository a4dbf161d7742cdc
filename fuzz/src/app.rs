//! The route table every target dispatches through: one handler per
//! extractor kind and response kind, a panicking handler, CORS (the table's,
//! a route's own, a route without), an `#[authorizer]`-protected route, a
//! JWT-protected route with scopes, and one trigger handler of each kind.
//!
//! Handlers answer with what they extracted, so the targets can check it
//! against what they put into the event.

use std::sync::atomic::{AtomicU64, Ordering};

use lambada::Html;
use lambada::prelude::*;
use lambada::trigger::BatchRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The message of every panic a handler raises on purpose; the targets'
/// panic hook lets these unwind (the runtime catches them) and aborts on
/// any other.
pub const INTENDED_PANIC: &str = "lambada-fuzz: intended panic";

/// The origins of the table's CORS settings.
pub const APP_ORIGIN: &str = "https://app.example.com";
/// `https://*.preview.example.com`: any subdomain.
pub const PREVIEW_SUFFIX: &str = ".preview.example.com";

// ---------------------------------------------------------------- HTTP ----

thread_local! {
    static RAN: std::cell::RefCell<Vec<&'static str>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Records that the HTTP handler `name` ran (each handler's first line).
fn ran(name: &'static str) {
    RAN.with(|r| r.borrow_mut().push(name));
}

/// The HTTP handlers that ran since the last call, in order.
pub fn take_ran() -> Vec<&'static str> {
    RAN.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

#[get("/hello/<id>")]
async fn hello(id: u32) -> String {
    ran("hello");
    format!("Hello world: {id}")
}

/// A literal beside a parameter: the literal wins.
#[get("/hello/world")]
async fn hello_world() -> &'static str {
    ran("hello_world");
    "Hello, world"
}

#[get("/files/<rest..>")]
async fn files(rest: &str) -> String {
    ran("files");
    rest.to_owned()
}

#[get("/echo/<s>")]
async fn echo(s: String) -> String {
    ran("echo");
    s
}

#[get("/typed/<i>/<f>/<b>/<c>")]
async fn typed(i: i64, f: f64, b: bool, c: char) -> Json<Value> {
    ran("typed");
    Json(json!({"i": i, "f": f.to_string(), "b": b, "c": c}))
}

#[get("/ip/<addr>")]
async fn ip(addr: std::net::IpAddr, #[query] id: Option<uuid::Uuid>) -> String {
    ran("ip");
    format!("{addr} {id:?}")
}

#[get("/items/<id>")]
async fn item(id: u32, #[header("x-client")] client: Option<String>) -> Json<Value> {
    ran("item");
    Json(json!({"id": id, "client": client}))
}

#[put("/items/<id>")]
async fn put_item(id: u32, Json(v): Json<Value>) -> Json<Value> {
    ran("put_item");
    Json(json!({"id": id, "body": v}))
}

#[delete("/items/<id>")]
async fn delete_item(id: u32) {
    ran("delete_item");
    let _ = id;
}

#[post("/items?<dry>&<tag>")]
async fn create(
    dry: Option<bool>,
    tag: Vec<String>,
    Json(v): Json<Value>,
) -> (StatusCode, Json<Value>) {
    ran("create");
    (
        StatusCode::CREATED,
        Json(json!({"dry": dry, "tag": tag, "body": v})),
    )
}

#[put("/form/<id>")]
async fn form(
    id: i64,
    #[header] x_count: Option<u8>,
    #[header("x-tag")] tags: Vec<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Json<Value> {
    ran("form");
    Json(json!({"id": id, "count": x_count, "tags": tags, "form": f}))
}

#[get("/")]
async fn root(cookies: Cookies<'_>, Query(q): Query<Vec<(String, String)>>) -> Json<Value> {
    ran("root");
    let cookies: Vec<(&str, &str)> = cookies.iter().collect();
    Json(json!({"cookies": cookies, "query": q}))
}

#[derive(Deserialize, Serialize)]
struct Page {
    page: u32,
    per_page: Option<u16>,
    #[serde(default)]
    sort: Vec<String>,
}

#[get("/page")]
async fn page(Query(p): Query<Page>) -> Json<Page> {
    ran("page");
    Json(p)
}

#[get("/cookie")]
async fn cookie(
    #[cookie] session: String,
    #[cookie("theme")] theme: Option<String>,
) -> Json<Value> {
    ran("cookie");
    Json(json!({"session": session, "theme": theme}))
}

#[post("/raw")]
async fn raw(body: bytes::Bytes) -> Vec<u8> {
    ran("raw");
    body.to_vec()
}

#[patch("/text")]
async fn text(body: &str) -> String {
    ran("text");
    body.to_owned()
}

#[delete("/bytes/<id>")]
async fn byte_len(id: u8, body: &[u8]) -> String {
    ran("byte_len");
    format!("{id} {}", body.len())
}

#[post("/vec")]
async fn vec_body(body: Vec<u8>) -> Html<Vec<u8>> {
    ran("vec_body");
    Html(body)
}

/// Counts its calls.
#[derive(Debug, Default)]
pub struct Counter {
    hits: AtomicU64,
}

#[get("/state")]
async fn state(counter: State<Counter>) -> String {
    ran("state");
    counter.hits.fetch_add(1, Ordering::Relaxed).to_string()
}

#[get("/boom")]
async fn boom() -> String {
    ran("boom");
    panic!("{INTENDED_PANIC}")
}

/// Panics after reading the body, from a sync handler.
#[post("/boom")]
fn boom_post(body: String) -> String {
    ran("boom_post");
    if body.len() < usize::MAX {
        panic!("{INTENDED_PANIC} with a body of {} bytes", body.len());
    }
    body
}

fn public() -> Cors {
    Cors::any_origin().max_age(60)
}

#[get("/feed", cors = public)]
async fn feed() -> Json<Vec<u32>> {
    ran("feed");
    Json(vec![1, 2, 3])
}

#[get("/private", cors = false)]
async fn private() -> &'static str {
    ran("private");
    "private"
}

/// A Lambda authorizer of the same table: API keys `k-` followed by
/// anything are allowed, `deny` is denied, the rest unauthorized.
#[authorizer(request, identity = "header.x-api-key", ttl = 0)]
async fn api_key(req: AuthorizerRequest) -> Decision {
    match req.identity() {
        Some("deny") => Decision::deny("denied"),
        Some("panic") => panic!("{INTENDED_PANIC}"),
        Some(k) if k.starts_with("k-") => Decision::allow(k)
            .with("plan", "gold")
            .with("n", 3)
            .with("nested", json!({"a": [1, null]})),
        _ => Decision::unauthorized(),
    }
}

/// A REST `TOKEN` authorizer: `Bearer ok…` allowed, `Bearer err` an
/// error, anything else denied.
#[authorizer(token)]
async fn bearer(req: AuthorizerRequest) -> Result<Decision, String> {
    match req.bearer() {
        Some("err") => Err("the token service is down".into()),
        Some("panic") => panic!("{INTENDED_PANIC}"),
        Some(t) if t.starts_with("ok") => Ok(Decision::allow(t).usage_key(t)),
        Some(t) => Ok(Decision::deny(t)),
        None => Ok(Decision::unauthorized()),
    }
}

#[get("/reports/<period>", auth = api_key)]
async fn report(period: &str, AuthContext(c): AuthContext<Map<String, Value>>) -> Json<Value> {
    ran("report");
    Json(json!({"period": period, "context": c}))
}

#[get("/me", auth = "users", scopes = ["profile", "admin"])]
async fn me(Claims(c): Claims<Map<String, Value>>) -> Json<Value> {
    ran("me");
    Json(Value::Object(c))
}

#[post("/ctx")]
async fn ctx(
    ctx: Context<'_>,
    headers: HeaderMap,
    method: http::Method,
    raw: RawEvent<'_>,
    req: &Request<'_>,
    body: String,
) -> Json<Value> {
    ran("ctx");
    let event: Result<Value, _> = raw.parse();
    let authorizer: Option<Value> = ctx.authorizer_as();
    Json(json!({
        "stage": ctx.stage,
        "source_ip": ctx.source_ip,
        "claim": ctx.claim("sub"),
        "authorizer": authorizer,
        "headers": headers.len(),
        "method": method.as_str(),
        "event": event.is_ok(),
        "path": req.path(),
        "query": req.query_pairs().count(),
        "cookies": req.cookies().count(),
        "content_type": req.content_type(),
        "body": body.len(),
    }))
}

#[get("/status/<code>")]
async fn status(code: u16) -> Result<(StatusCode, &'static str), Problem> {
    ran("status");
    match StatusCode::from_u16(code) {
        Ok(s) if (200..600).contains(&code) => Ok((s, "status")),
        _ => Err(Problem::new(StatusCode::BAD_REQUEST, "not a status")),
    }
}

#[get("/go?<to>&<code>")]
async fn go(to: String, code: Option<u16>) -> Redirect {
    ran("go");
    match code {
        Some(301) => Redirect::moved_permanently(&to),
        Some(303) => Redirect::see_other(&to),
        Some(307) => Redirect::temporary(&to),
        Some(308) => Redirect::permanent(&to),
        _ => Redirect::found(&to),
    }
}

#[get("/set-cookies?<n>&<v>")]
async fn set_cookies(n: u8, v: Option<String>) -> (HeaderMap, &'static str) {
    ran("set_cookies");
    let mut h = HeaderMap::new();
    for i in 0..n.min(8) {
        let value = format!("c{i}={}", v.as_deref().unwrap_or("1"));
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            h.append(http::header::SET_COOKIE, v);
        }
    }
    h.append("x-request-id", http::HeaderValue::from_static("r-1"));
    h.append("x-multi", http::HeaderValue::from_static("a"));
    h.append("x-multi", http::HeaderValue::from_static("b"));
    (h, "cookies")
}

#[head("/head")]
async fn head_only() -> &'static str {
    ran("head_only");
    "a body no HEAD response carries"
}

#[options("/manual")]
async fn manual() -> &'static str {
    ran("manual");
    "manual options"
}

#[derive(Debug, HttpError)]
enum AppError {
    #[status(NOT_FOUND)]
    Missing,
    #[status(503)]
    Down,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Missing => f.write_str("no such thing"),
            AppError::Down => f.write_str("down for maintenance"),
        }
    }
}

#[get("/err/<n>")]
async fn err(n: u8) -> Result<String, AppError> {
    ran("err");
    match n {
        0 => Err(AppError::Missing),
        1 => Err(AppError::Down),
        _ => Ok(n.to_string()),
    }
}

#[get("/bin/<n>")]
async fn bin(n: u8) -> (StatusCode, Vec<u8>) {
    ran("bin");
    (StatusCode::OK, (0..n).collect())
}

// ------------------------------------------------------------ triggers ----

/// What most trigger handlers decode their messages into. `id` 0 is a
/// handler error, 13 a panic.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Order {
    /// The order.
    pub id: u32,
}

fn order_result(id: u32) -> Result<(), String> {
    match id {
        0 => Err("order 0 does not exist".into()),
        13 => panic!("{INTENDED_PANIC}: order 13"),
        _ => Ok(()),
    }
}

/// Fails an object whose (decoded) key holds `fail`, naming the key.
#[s3(bucket = "uploads", events = ["s3:ObjectCreated:*"])]
async fn on_s3(obj: S3Object) -> Result<(), String> {
    if obj.key.contains("fail") {
        Err(format!("cannot take {}", obj.key))
    } else {
        Ok(())
    }
}

/// An order placed, as an EventBridge rule delivers it.
#[event_pattern(source = ["shop.orders"], detail_type = ["OrderPlaced"])]
async fn on_rule(ev: EventBridgeEvent<Order>) -> Result<(), String> {
    order_result(ev.detail.id)
}

#[sns(topic = "orders-topic")]
async fn on_sns(msg: SnsMessage<Order>, ctx: LambdaContext) -> Result<(), String> {
    let _ = (ctx.request_id, msg.record.topic_arn);
    order_result(msg.body.id)
}

#[sqs(queue = "orders", batch_size = 10)]
async fn on_sqs(msg: SqsMessage<Order>, counter: State<Counter>) -> Result<(), String> {
    counter.hits.fetch_add(1, Ordering::Relaxed);
    order_result(msg.body.id)
}

/// The whole batch: the orders with `id` 0 failed, `id` 7 fails them all,
/// 13 panics.
#[sqs(queue = "orders-batch")]
async fn on_sqs_batch(batch: Records<SqsMessage<Order>>) -> Result<Failures, String> {
    let mut failed = Vec::new();
    for r in &batch.records {
        match r.body.id {
            7 => return Err("order 7 fails the batch".into()),
            13 => panic!("{INTENDED_PANIC}: order 13"),
            0 => failed.push(r.item_id().to_owned()),
            _ => {}
        }
    }
    Ok(Failures(failed))
}

#[kinesis(stream = "orders-stream", starting_position = "TRIM_HORIZON")]
async fn on_kinesis(rec: KinesisRecord<Order>) -> Result<(), String> {
    order_result(rec.data.id)
}

/// Raw records: `bad` failed, `boom` fails the batch.
#[kinesis(stream = "raw-stream")]
async fn on_kinesis_batch(batch: Records<KinesisRecord<Raw>>) -> Result<Failures, String> {
    let mut failed = Vec::new();
    for r in &batch.records {
        match r.data.as_bytes() {
            b"boom" => return Err("boom".into()),
            b"bad" => failed.push(r.item_id().to_owned()),
            _ => {}
        }
    }
    Ok(Failures(failed))
}

/// A DynamoDB item of the stream.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Device {
    /// Its id: 0 is a handler error, 13 a panic.
    pub id: u32,
    /// Its name.
    pub name: String,
}

#[dynamodb_stream(table = "devices")]
async fn on_ddb(rec: StreamRecord<Device>) -> Result<(), String> {
    match (&rec.new, &rec.old) {
        (Some(d), _) | (None, Some(d)) => order_result(d.id),
        (None, None) => Ok(()),
    }
}

#[dynamodb_stream(table = "devices-batch")]
async fn on_ddb_batch(batch: Records<StreamRecord>) -> Failures {
    Failures(
        batch
            .records
            .iter()
            .filter(|r| r.change == lambada::trigger::Change::Remove)
            .map(|r| r.item_id().to_owned())
            .collect(),
    )
}

#[schedule("rate(5 minutes)")]
async fn on_tick(ev: ScheduledEvent) -> Result<(), String> {
    match ev.detail_type.as_deref() {
        Some("fail") => Err("asked to fail".into()),
        Some("panic") => panic!("{INTENDED_PANIC}"),
        _ => Ok(()),
    }
}

/// The schedule's constant input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SyncInput {
    /// The domain to sync.
    pub domain: String,
}

#[schedule("cron(0/15 * * * ? *)", input = {"Domain": "example.com"})]
async fn on_sync(Json(input): Json<SyncInput>) -> Result<(), String> {
    if input.domain.is_empty() {
        return Err("no domain".into());
    }
    Ok(())
}

#[invoke]
async fn on_invoke(Json(order): Json<Order>) -> Result<Json<Value>, String> {
    order_result(order.id)?;
    Ok(Json(json!({"registered": order.id})))
}

#[invoke]
async fn on_invoke_value(v: Value) -> Value {
    json!({"echo": v})
}

/// Every handler above, with its state and CORS settings.
pub fn routes() -> Routes {
    routes![
        hello,
        hello_world,
        files,
        echo,
        typed,
        ip,
        item,
        put_item,
        delete_item,
        create,
        form,
        root,
        page,
        cookie,
        raw,
        text,
        byte_len,
        vec_body,
        state,
        boom,
        boom_post,
        feed,
        private,
        api_key,
        bearer,
        report,
        me,
        ctx,
        status,
        go,
        set_cookies,
        head_only,
        manual,
        err,
        bin,
        on_s3,
        on_rule,
        on_sns,
        on_sqs,
        on_sqs_batch,
        on_kinesis,
        on_kinesis_batch,
        on_ddb,
        on_ddb_batch,
        on_tick,
        on_sync,
        on_invoke,
        on_invoke_value,
    ]
    .with_state(Counter::default())
    .cors(
        Cors::new()
            .allow_origin(APP_ORIGIN)
            .allow_origin(format!("https://*{PREVIEW_SUFFIX}"))
            .allow_headers(["x-client"])
            .expose_headers(["x-request-id"])
            .allow_credentials(true)
            .max_age(600),
    )
}

/// The trigger handlers of [`routes`], by name.
pub const TRIGGERS: [&str; 15] = [
    "on_s3",
    "on_rule",
    "on_sns",
    "on_sqs",
    "on_sqs_batch",
    "on_kinesis",
    "on_kinesis_batch",
    "on_ddb",
    "on_ddb_batch",
    "on_tick",
    "on_sync",
    "on_invoke",
    "on_invoke_value",
    "api_key",
    "bearer",
];
