#[lambada::main]
fn main() -> Result<(), lambada::Error> {
    Ok(())
}
