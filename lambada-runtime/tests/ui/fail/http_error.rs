use lambada::HttpError;

#[derive(Debug, HttpError)]
enum E {
    #[status(404)]
    NotFound,
    Missing,
    #[status(1200)]
    Weird,
}

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("e")
    }
}

fn main() {}
