use lambada::prelude::*;

#[schedule("rate(1 minutes)")]
async fn plural_one() {}

#[schedule("cron(0 12 * * * *)")]
async fn both_days() {}

#[schedule("cron(0 25 * * ? *)")]
async fn hour_25() {}

#[schedule("every 5 minutes")]
async fn not_an_expression() {}

#[schedule(input = {"a": 1})]
async fn no_expression() {}

#[schedule("rate(5 minutes)", input = {"a": })]
async fn bad_input() {}

fn main() {
    let _ = routes![
        plural_one,
        both_days,
        hour_25,
        not_an_expression,
        no_expression,
        bad_input
    ];
}
