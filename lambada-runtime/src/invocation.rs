//! What the Runtime API says about one invocation, beside its event.

/// Facts about the Lambda invocation, from the Runtime API's headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Invocation<'a> {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: &'a str,
    /// `Lambda-Runtime-Deadline-Ms`.
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_function_arn: &'a str,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: Option<&'a str>,
}
