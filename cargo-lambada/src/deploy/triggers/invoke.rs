//! `#[invoke]`: nothing to wire.

use super::{Grant, Wire, Wiring};
use crate::deploy::{Ctx, DeployError};

pub(super) struct Invoke;

impl Wiring for Invoke {
    async fn wire(
        w: &Wire<'_>,
        _ctx: &mut Ctx,
        _grants: &mut Vec<Grant>,
    ) -> Result<(Option<String>, Vec<String>), DeployError> {
        Ok((
            None,
            vec![format!("invoke directly: {}", w.site.function_arn)],
        ))
    }
}
