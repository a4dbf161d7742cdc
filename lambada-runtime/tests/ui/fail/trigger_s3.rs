use lambada::prelude::*;

#[s3(bucket = "uploads", events = ["s3:ObjectCreated:Upload", "ObjectRemoved:*"])]
async fn bad_event(_o: S3Object) {}

#[s3(events = ["s3:ObjectCreated:*"])]
async fn no_bucket(_o: S3Object) {}

#[s3(bucket = "My_Uploads")]
async fn bad_bucket(_o: S3Object) {}

#[s3(bucket = "uploads", prefix = "", suffix = [".csv"])]
async fn bad_filters(_o: S3Object) {}

#[s3(bucket = "uploads", events = [])]
async fn no_events(_o: S3Object) {}

#[s3(bucket = "uploads", queue = "x")]
async fn unknown_key(_o: S3Object) {}

#[s3(bucket = "uploads")]
async fn wrong_event(_m: SqsMessage) {}

fn main() {}
