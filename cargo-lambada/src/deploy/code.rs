//! The code: `bootstrap.zip` in S3 under a content-addressed key
//! (`lambada/<function>/<sha256>.zip`), tagged for the app, so an unchanged
//! build is never uploaded twice and `remove` finds what it uploaded.

use super::{Aws, Ctx, DeployError, TAG, aws_err};
use crate::build::Artifact;
use crate::config::Config;
use crate::package;

/// Uploads the zip unless the object is there already; returns its key.
///
/// `fresh`: no function of the app existed, so this is a first deploy (or
/// one after `remove`): the object is uploaded without asking S3 first
/// (the upload is idempotent; the read would only find it after an
/// interrupted first deploy).
pub(super) async fn ensure(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    artifact: &Artifact,
    bucket: &str,
    fresh: bool,
) -> Result<String, DeployError> {
    let key = package::code_key(&cfg.function, &artifact.sha256_hex);
    ctx.step(&format!("code: s3://{bucket}/{key}"));
    if !fresh {
        ctx.read("s3:HeadObject");
        let head = aws.s3.head_object().bucket(bucket).key(&key).send().await;
        match head {
            Ok(_) => return Ok(key),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_not_found())
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
            Err(e) => return Err(aws_err("s3:HeadObject")(e)),
        }
    }
    ctx.change(
        format!("s3://{bucket}"),
        "ensure",
        "bucket exists (created when missing)",
    );
    if ctx.write("s3:CreateBucket") {
        let mut req = aws.s3.create_bucket().bucket(bucket);
        if aws.region != "us-east-1" {
            req = req.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        aws.region.as_str(),
                    ))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
                }) => {}
            Err(e) => return Err(aws_err("s3:CreateBucket")(e)),
        }
    }
    ctx.change(
        format!("s3://{bucket}/{key}"),
        "upload",
        format!("{} bytes", artifact.size),
    );
    if ctx.write("s3:PutObject") {
        let body = aws_sdk_s3::primitives::ByteStream::from_path(&artifact.zip)
            .await
            .map_err(|e| DeployError::Io(artifact.zip.clone(), std::io::Error::other(e)))?;
        aws.s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(body)
            .tagging(format!("lambada%3Afunction={}", cfg.function))
            .send()
            .await
            .map_err(aws_err("s3:PutObject"))?;
    }
    Ok(key)
}

/// Deletes the objects deploy uploaded for the app (tagged for it).
pub(super) async fn remove(aws: &Aws, ctx: &mut Ctx, cfg: &Config) -> Result<(), DeployError> {
    let Some(bucket) = &cfg.bucket else {
        return Ok(());
    };
    let prefix = format!("lambada/{}/", cfg.function);
    ctx.read("s3:ListObjectsV2");
    match aws
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .send()
        .await
    {
        Ok(list) => {
            for obj in list.contents() {
                let key = obj.key().unwrap_or_default();
                ctx.read("s3:GetObjectTagging");
                let tags = aws
                    .s3
                    .get_object_tagging()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(aws_err("s3:GetObjectTagging"))?;
                if !tags
                    .tag_set()
                    .iter()
                    .any(|t| t.key() == TAG && t.value() == cfg.function)
                {
                    continue;
                }
                ctx.change(format!("s3://{bucket}/{key}"), "delete", "");
                if ctx.write("s3:DeleteObject") {
                    aws.s3
                        .delete_object()
                        .bucket(bucket)
                        .key(key)
                        .send()
                        .await
                        .map_err(aws_err("s3:DeleteObject"))?;
                }
            }
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => {}
        Err(e) => return Err(aws_err("s3:ListObjectsV2")(e)),
    }
    Ok(())
}
