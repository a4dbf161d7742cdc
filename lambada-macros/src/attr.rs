//! Helpers shared by the macros: error collection and spans inside literals.

use proc_macro2::Span;
use std::ops::Range;

/// Collects every error before anything is emitted (serde's `Ctxt`).
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    pub fn spanned(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }
    pub fn into_result(self) -> Result<(), syn::Error> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The span of `range` (byte offsets into the string's value) inside the
/// literal, where the compiler can give one; else the whole literal.
pub(crate) fn sub_span(lit: &syn::LitStr, range: &Range<usize>) -> Span {
    // +1 for the opening quote. Only exact for literals without escapes,
    // which is what route paths are.
    let token = lit.token();
    token
        .subspan(range.start + 1..range.end + 1)
        .unwrap_or_else(|| lit.span())
}

/// `value` with `range` underlined, for messages when sub-spans are not
/// available (stable Rust).
pub(crate) fn excerpt(value: &str, range: &Range<usize>) -> String {
    let start = range.start.min(value.len());
    let width = range.end.saturating_sub(range.start).max(1);
    format!(
        "\n    \"{value}\"\n     {}{}",
        " ".repeat(start),
        "^".repeat(width)
    )
}
