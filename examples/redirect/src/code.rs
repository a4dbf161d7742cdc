//! Short codes: random ones, and the rules for custom ones.

/// The length of a generated code: 62⁷ ≈ 3.5 × 10¹² codes.
pub const GENERATED_LEN: usize = 7;

/// The longest custom code.
pub const MAX_LEN: usize = 64;

/// Codes that are paths of other routes (`GET /links` is not a short link).
pub const RESERVED: [&str; 2] = ["links", "moved"];

/// [`custom`]'s rules as a regular expression, for the OpenAPI document.
pub const PATTERN: &str = "^(?!(links|moved)$)[A-Za-z0-9_-]{1,64}$";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A random base62 code of [`GENERATED_LEN`] characters, from the operating
/// system's generator (codes are not guessable in sequence).
pub fn generate() -> String {
    let mut code = String::with_capacity(GENERATED_LEN);
    while code.len() < GENERATED_LEN {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator");
        // 248 = 4 × 62: dropping the bytes above it keeps every character
        // equally likely.
        for b in bytes.into_iter().filter(|b| *b < 248) {
            if code.len() < GENERATED_LEN {
                code.push(char::from(BASE62[usize::from(b % 62)]));
            }
        }
    }
    code
}

/// Whether `code` could name a link: 1 to [`MAX_LEN`] ASCII letters,
/// digits, `-` or `_`.
pub fn well_formed(code: &str) -> bool {
    (1..=MAX_LEN).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a code a client asked for.
pub fn custom(code: String) -> Result<String, InvalidCode> {
    if !well_formed(&code) {
        return Err(InvalidCode(format!(
            "`{code}`: a code has 1 to {MAX_LEN} characters among letters, digits, `-` and `_`"
        )));
    }
    if RESERVED.contains(&code.as_str()) {
        return Err(InvalidCode(format!("`{code}` is reserved")));
    }
    Ok(code)
}

/// Why a custom code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCode(pub String);

impl std::fmt::Display for InvalidCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidCode {}
