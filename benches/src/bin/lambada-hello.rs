//! The bootstrap measured by `benches/rig.sh`: [`lambada_benches::app`]
//! served as a Lambda custom runtime (the mirror of the rig's `axum-hello`
//! peer).

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    lambada::run(lambada_benches::app()).await
}
