use lambada::prelude::*;

#[get("/a//b")]
async fn empty_segment() {}

#[get("/users/<id")]
async fn unclosed(id: u32) {}

#[get("/users/<>")]
async fn empty_name() {}

#[get("/files/<rest..>/tail")]
async fn tail_not_last(rest: &str) {}

#[get("/hello world")]
async fn bad_char() {}

#[get("/a/x<id>")]
async fn partial(id: u32) {}

#[get("no-slash")]
async fn no_slash() {}

#[get("/trailing/")]
async fn trailing() {}

// 26 parameters: one more than the router takes.
#[get("/<a>/<b>/<c>/<d>/<e>/<f>/<g>/<h>/<i>/<j>/<k>/<l>/<m>/<n>/<o>/<p>/<q>/<r>/<s>/<t>/<u>/<v>/<w>/<x>/<y>/<z>")]
async fn too_many() {}

fn main() {
    let _ = routes![empty_segment, unclosed, empty_name, tail_not_last, bad_char, partial, no_slash, trailing, too_many];
}
